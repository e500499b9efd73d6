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

events as (

    select * from {{ ref('stg_clickstream__events') }}

),

event_types as (

    select * from {{ ref('event_types') }}

),

utm_mediums as (

    select * from {{ ref('utm_mediums') }}

),

devices as (

    select * from {{ ref('devices') }}

),

rated_currencies as (

    select distinct currency from {{ ref('int_fx_rates__daily') }}

),

{#- Each coded column: its entity (the CTE above), the CTE listing its codes, the business date its rows
    are seen on, whether an unknown code stops the build, and what to extend. -#}
{%- set coded_columns = [
    ('orders', 'order_status', 'order_statuses', 'ordered_date', true, 'add it to seeds/order_statuses.csv, saying whether it is a valid order'),
    ('orders', 'channel', 'channels', 'ordered_date', false, 'add it to seeds/channels.csv with its label and group'),
    ('orders', 'currency', 'rated_currencies', 'ordered_date', true, 'deliver its rates under raw/fx_rates/'),
    ('payments', 'payment_status', 'payment_statuses', 'created_date', true, 'add it to seeds/payment_statuses.csv, saying whether it captured money'),
    ('payments', 'payment_method', 'payment_methods', 'created_date', false, 'add it to seeds/payment_methods.csv with its label and group'),
    ('payments', 'currency', 'rated_currencies', 'created_date', true, 'deliver its rates under raw/fx_rates/'),
    ('customers', 'country_code', 'countries', 'created_date', false, 'add it to seeds/countries.csv with its name and region'),
    ('events', 'event_type', 'event_types', 'event_date', false, 'add it to seeds/event_types.csv with its label'),
    ('events', 'utm_medium', 'utm_mediums', 'event_date', false, 'add it to seeds/utm_mediums.csv with its channel'),
    ('events', 'device', 'devices', 'event_date', false, 'add it to seeds/devices.csv with its label'),
] %}

{% for entity, column, codes, date_column, is_blocking, fix in coded_columns %}
{{ entity }}_{{ column }} as (

    select
        '{{ entity }}' as entity,
        '{{ column }}' as column_name,
        unknown_code.code,
        unknown_code.row_count,
        unknown_code.first_seen_on,
        unknown_code.last_seen_on,
        {{ is_blocking }} as is_blocking,
        '{{ fix }}' as fix
    from (
        {{ unknown_codes(entity, column, codes, column, date_column) }}
    ) as unknown_code

),

{% endfor %}
unioned as (

    {% for entity, column, _, _, _, _ in coded_columns %}
    select * from {{ entity }}_{{ column }}
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
