{{
    config(
        materialized='incremental',
        unique_key='order_id',
        incremental_strategy='delete+insert',
        dist='customer_id',
        sort=['ordered_date'],
        cluster_by=['ordered_date'],
    )
}}

-- The incremental scope reads the staged orders and payments and the daily exchange rates:
-- depends_on: {{ ref('stg_shop__orders') }}, {{ ref('stg_payments__payments') }}, {{ ref('int_fx_rates__daily') }}

with

orders as (

    select * from {{ ref('int_orders__converted') }}

),

order_items as (

    select * from {{ ref('stg_shop__order_items') }}

),

payments as (

    select * from {{ ref('int_payments__converted') }}

),

{% if is_incremental() %}
changed_orders as (

    select order_id from ({{ touched_orders(this) }}) as touched

),

changed_positions as (

    -- Where each changed customer order stands now and where it stood before (its time or customer may
    -- change). The scope CTEs read the models themselves, for a few columns: a CTE read more than once is
    -- materialised whole by some engines (DuckDB), which would copy the orders on every run.
    select
        customer_id,
        ordered_at
    from {{ ref('stg_shop__orders') }}
    where
        {{ in_key_set('order_id', 'changed_orders.order_id', 'changed_orders') }}
        and customer_id is not null
    union all
    select
        customer_id,
        ordered_at
    from {{ this }}
    where
        {{ in_key_set('order_id', 'changed_orders.order_id', 'changed_orders') }}
        and not is_guest_order

),

renumber_from as (

    select
        customer_id,
        min(ordered_at) as renumber_from
    from changed_positions
    group by customer_id

),

numbered as (

    -- Orders are numbered among all their customer's orders, but only those from the earliest changed
    -- one on can change number: those are rebuilt (the changed orders among them), the rest stay.
    select
        stg_orders.order_id,
        cast(row_number() over (
            partition by stg_orders.customer_id
            order by stg_orders.ordered_at, stg_orders.order_id
        ) as integer) as customer_order_number,
        stg_orders.ordered_at >= renumber_from.renumber_from as is_rebuilt
    from {{ ref('stg_shop__orders') }} as stg_orders
    inner join renumber_from
        on stg_orders.customer_id = renumber_from.customer_id

),

rebuilt as (

    select
        order_id,
        customer_order_number
    from numbered
    where is_rebuilt

    union all

    -- Changed guest orders: rebuilt, never numbered.
    select
        order_id,
        cast(null as integer) as customer_order_number
    from {{ ref('stg_shop__orders') }}
    where
        {{ in_key_set('order_id', 'changed_orders.order_id', 'changed_orders') }}
        and customer_id is null

),

scope as (

    select
        orders.*,
        rebuilt.customer_order_number
    from orders
    inner join rebuilt
        on orders.order_id = rebuilt.order_id
    -- as a range too, which a scan can prune on (see in_key_set)
    where orders.order_id >= (select min(rebuilt.order_id) from rebuilt)

),
{% else %}
scope as (

    select
        *,
        case
            when not is_guest_order
                then cast(row_number() over (
                    partition by customer_id
                    order by ordered_at, order_id
                ) as integer)
        end as customer_order_number
    from orders

),
{% endif %}

items_per_order as (

    select
        order_id,
        cast(count(*) as integer) as line_count,
        cast(sum(quantity) as bigint) as item_count,
        max(loaded_at) as loaded_at
    from order_items
    {% if is_incremental() %}
    -- only the orders rebuilt: the lines of the whole history need not be summed every day
    where {{ in_key_set('order_id', 'scope.order_id', 'scope') }}
    {% endif %}
    group by order_id

),

payments_per_order as (

    select
        order_id,
        cast(count(*) as integer) as payment_attempts,
        sum(case when is_captured then amount else 0 end) as paid_amount,
        sum(case when is_captured then amount_reporting else 0 end) as paid_amount_reporting,
        sum(refunded_amount) as refunded_amount,
        sum(refunded_amount_reporting) as refunded_amount_reporting,
        max(coalesce(greatest(loaded_at, rate_loaded_at), loaded_at)) as loaded_at
    from payments
    {% if is_incremental() %}
    where {{ in_key_set('order_id', 'scope.order_id', 'scope') }}
    {% endif %}
    group by order_id

),

final as (

    select
        scope.order_id,
        scope.customer_id,
        scope.is_guest_order,
        scope.ordered_at,
        scope.ordered_date,
        scope.order_status,
        scope.is_valid_order,
        scope.channel,
        scope.channel_group,
        scope.currency,
        scope.subtotal_amount,
        scope.discount_amount,
        scope.shipping_amount,
        scope.tax_amount,
        scope.total_amount,
        scope.reporting_rate,
        scope.subtotal_amount_reporting,
        scope.discount_amount_reporting,
        scope.total_amount_reporting,
        coalesce(items_per_order.line_count, 0) as line_count,
        coalesce(items_per_order.item_count, 0) as item_count,
        coalesce(payments_per_order.payment_attempts, 0) as payment_attempts,
        cast(coalesce(payments_per_order.paid_amount, 0) as decimal(18, 2)) as paid_amount,
        cast(coalesce(payments_per_order.paid_amount_reporting, 0) as decimal(18, 2)) as paid_amount_reporting,
        cast(coalesce(payments_per_order.refunded_amount, 0) as decimal(18, 2)) as refunded_amount,
        cast(coalesce(payments_per_order.refunded_amount_reporting, 0) as decimal(18, 2))
            as refunded_amount_reporting,
        scope.customer_order_number,
        coalesce(scope.customer_order_number = 1, false) as is_first_order,
        scope.updated_at,
        greatest(
            scope.loaded_at,
            coalesce(scope.rate_loaded_at, scope.loaded_at),
            coalesce(items_per_order.loaded_at, scope.loaded_at),
            coalesce(payments_per_order.loaded_at, scope.loaded_at)
        ) as source_loaded_at
    from scope
    left join items_per_order
        on scope.order_id = items_per_order.order_id
    left join payments_per_order
        on scope.order_id = payments_per_order.order_id

)

select * from final
