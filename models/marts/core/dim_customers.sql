{{
    config(
        materialized='incremental',
        unique_key='customer_id',
        incremental_strategy='delete+insert',
    )
}}

with

{% if is_incremental() %}
changed_customers as (

    -- The driving input: the customers whose own row, any of whose orders or a sign-in of whom was
    -- loaded since the watermark. Each is rebuilt whole.
    select customer_id from {{ ref('stg_shop__customers') }}
    where loaded_at > {{ incremental_watermark() }}

    union

    select customer_id from {{ ref('fct_orders') }}
    where source_loaded_at > {{ incremental_watermark() }}

    union

    select customer_id from {{ ref('int_clickstream__identities') }}
    where loaded_at > {{ incremental_watermark() }}

),
{% endif %}

customers as (

    select * from {{ ref('stg_shop__customers') }}
    {% if is_incremental() %}
    where customer_id in (select changed_customers.customer_id from changed_customers)
    {% endif %}

),

orders as (

    select * from {{ ref('fct_orders') }}
    {% if is_incremental() %}
    where customer_id in (select changed_customers.customer_id from changed_customers)
    {% endif %}

),

identities as (

    select * from {{ ref('int_clickstream__identities') }}
    where
        customer_id is not null
    {% if is_incremental() %}
        and customer_id in (select changed_customers.customer_id from changed_customers)
    {% endif %}

),

countries as (

    select * from {{ ref('countries') }}

),

order_history as (

    select
        customer_id,
        min(ordered_at) as first_ordered_at,
        max(ordered_at) as last_ordered_at,
        min(case when is_valid_order then ordered_at end) as first_valid_ordered_at,
        cast(sum(case when is_valid_order then 1 else 0 end) as bigint) as lifetime_valid_orders,
        sum(case when is_valid_order then total_amount_reporting else 0 end) as lifetime_revenue_reporting,
        max(source_loaded_at) as loaded_at
    from orders
    group by customer_id

),

naming as (

    -- Every customer a fact names: in an order, or signed in on a device in the clickstream.
    select
        customer_id,
        loaded_at
    from order_history

    union all

    select
        customer_id,
        loaded_at
    from identities

),

named as (

    select
        customer_id,
        max(loaded_at) as loaded_at
    from naming
    group by customer_id

),

all_customers as (

    select
        customer_id,
        country_code,
        city,
        is_marketing_opt_in,
        is_erased,
        false as is_placeholder,
        false as is_guest,
        created_at,
        updated_at,
        loaded_at
    from customers

    union all

    -- Customers an order or a sign-in names before their own row has landed: placeholders until it
    -- arrives; and the one guest member that every guest checkout joins.
    select
        named.customer_id,
        null as country_code,
        null as city,
        false as is_marketing_opt_in,
        false as is_erased,
        named.customer_id <> '{{ var("guest_customer_id") }}' as is_placeholder,
        named.customer_id = '{{ var("guest_customer_id") }}' as is_guest,
        null as created_at,
        null as updated_at,
        named.loaded_at
    from named
    left join customers
        on named.customer_id = customers.customer_id
    where customers.customer_id is null

),

final as (

    select
        all_customers.customer_id,
        all_customers.country_code,
        coalesce(countries.region, 'Unknown') as region,
        all_customers.city,
        all_customers.is_marketing_opt_in,
        all_customers.is_erased,
        all_customers.is_placeholder,
        all_customers.is_guest,
        all_customers.created_at,
        order_history.first_ordered_at,
        order_history.last_ordered_at,
        -- Guests are no cohort: each checkout may be a different person.
        case
            when not all_customers.is_guest
                then cast({{ dbt.date_trunc('month', utc_date('order_history.first_valid_ordered_at')) }} as date)
        end as cohort_month,
        coalesce(order_history.lifetime_valid_orders, 0) as lifetime_valid_orders,
        cast(coalesce(order_history.lifetime_revenue_reporting, 0) as decimal(18, 2)) as lifetime_revenue_reporting,
        all_customers.updated_at,
        greatest(all_customers.loaded_at, coalesce(order_history.loaded_at, all_customers.loaded_at))
            as source_loaded_at
    from all_customers
    left join order_history
        on all_customers.customer_id = order_history.customer_id
    left join countries
        on all_customers.country_code = countries.country_code

)

select * from final
