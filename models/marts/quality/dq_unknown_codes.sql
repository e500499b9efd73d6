with

orders as (

    select * from {{ ref('stg_shop__orders') }}

),

payments as (

    select * from {{ ref('stg_payments__payments') }}

),

customers as (

    select
        *,
        {{ utc_date('created_at') }} as created_date
    from {{ ref('stg_shop__customers') }}

),

order_statuses as (

    select * from {{ ref('order_statuses') }}

),

payment_statuses as (

    select * from {{ ref('payment_statuses') }}

),

payment_methods as (

    select * from {{ ref('payment_methods') }}

),

channels as (

    select * from {{ ref('channels') }}

),

countries as (

    select * from {{ ref('countries') }}

),

rated_currencies as (

    select distinct currency from {{ ref('int_fx_rates__daily') }}

),

order_status as (

    {{ unknown_codes('orders', 'order_status', 'order_statuses', 'order_status', 'ordered_date') }}

),

channel as (

    {{ unknown_codes('orders', 'channel', 'channels', 'channel', 'ordered_date') }}

),

order_currency as (

    {{ unknown_codes('orders', 'currency', 'rated_currencies', 'currency', 'ordered_date') }}

),

payment_status as (

    {{ unknown_codes('payments', 'payment_status', 'payment_statuses', 'payment_status', 'created_date') }}

),

payment_method as (

    {{ unknown_codes('payments', 'payment_method', 'payment_methods', 'payment_method', 'created_date') }}

),

payment_currency as (

    {{ unknown_codes('payments', 'currency', 'rated_currencies', 'currency', 'created_date') }}

),

country as (

    {{ unknown_codes('customers', 'country_code', 'countries', 'country_code', 'created_date') }}

),

unioned as (

    {%- set columns = [
        ('orders', 'order_status', 'order_status', true, 'add it to seeds/order_statuses.csv, saying whether it is a valid order'),
        ('orders', 'channel', 'channel', false, 'add it to seeds/channels.csv with its label and group'),
        ('orders', 'currency', 'order_currency', true, 'deliver its rates under raw/fx_rates/'),
        ('payments', 'payment_status', 'payment_status', true, 'add it to seeds/payment_statuses.csv, saying whether it captured money'),
        ('payments', 'payment_method', 'payment_method', false, 'add it to seeds/payment_methods.csv with its label and group'),
        ('payments', 'currency', 'payment_currency', true, 'deliver its rates under raw/fx_rates/'),
        ('customers', 'country_code', 'country', false, 'add it to seeds/countries.csv with its name and region'),
    ] %}
    {% for entity, column, cte, is_blocking, fix in columns %}
    select
        '{{ entity }}' as entity,
        '{{ column }}' as column_name,
        code,
        row_count,
        first_seen_on,
        last_seen_on,
        {{ is_blocking }} as is_blocking,
        '{{ fix }}' as fix
    from {{ cte }}
    {% if not loop.last %}union all{% endif %}
    {% endfor %}

),

final as (

    select
        entity,
        column_name,
        cast(code as {{ dbt.type_string() }}) as code,
        cast(row_count as bigint) as row_count,
        cast(first_seen_on as date) as first_seen_on,
        cast(last_seen_on as date) as last_seen_on,
        is_blocking,
        cast(fix as {{ dbt.type_string() }}) as fix
    from unioned

)

select * from final
