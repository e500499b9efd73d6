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

{#- The incremental scope's input, named outside the incremental branch so dbt records the dependency on
    every parse (a ref() only inside {% if is_incremental() %} is not seen). -#}
{%- set touched_rows = ref('int_orders__touched') %}

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

completions as (

    select * from {{ ref('int_orders__completions') }}

),

sessions as (

    select * from {{ ref('fct_sessions') }}

),

customer_orders as (

    -- What an order's number among its customer's orders is computed from; guests are never numbered.
    select
        order_id,
        customer_id,
        ordered_at
    from {{ ref('stg_shop__orders') }}
    where customer_id is not null

),

{% if is_incremental() %}
touched_rows as (

    select * from {{ touched_rows }}

),

staged_orders as (

    -- Read apart from customer_orders, each for its own few rows: DuckDB copies a CTE read twice whole.
    select * from {{ ref('stg_shop__orders') }}

),

built_orders as (

    select * from {{ this }}

),

touched as (

    -- The driving input: the orders with a row loaded since the watermark, and those whose session was
    -- built again since then (a late event can merge it into another).
    select order_id
    from touched_rows
    where loaded_at > {{ incremental_watermark() }}

    union

    select completions.order_id
    from completions
    inner join sessions
        on
            completions.anonymous_id = sessions.anonymous_id
            and {{ holds_event('sessions', 'completions.completed_at', 'completions.event_id') }}
    where sessions.source_loaded_at > {{ incremental_watermark() }}

),

changed_positions as (

    -- Where each touched customer order stands now and where it stood before (its time or its customer
    -- may change). Keys are issued in order: the range lets each scan skip old row groups unread.
    select
        customer_id,
        ordered_at
    from staged_orders
    where
        order_id in (select touched.order_id from touched)
        and order_id >= (select min(touched.order_id) from touched)
        and customer_id is not null

    union all

    select
        customer_id,
        ordered_at
    from built_orders
    where
        order_id in (select touched.order_id from touched)
        and order_id >= (select min(touched.order_id) from touched)
        and not is_guest_order

),

renumber_from as (

    -- Only a customer's orders from the earliest changed position on can change number.
    select
        customer_id,
        min(ordered_at) as renumber_from
    from changed_positions
    group by customer_id

),
{% endif %}

numbered as (

    select
        customer_orders.order_id,
        customer_orders.ordered_at,
        cast(row_number() over (
            partition by customer_orders.customer_id
            order by customer_orders.ordered_at, customer_orders.order_id
        ) as integer) as customer_order_number,
        {% if is_incremental() %}
        customer_orders.ordered_at >= renumber_from.renumber_from as is_rebuilt
        {% else %}
        true as is_rebuilt
        {% endif %}
    from customer_orders
    {% if is_incremental() %}
    inner join renumber_from
        on customer_orders.customer_id = renumber_from.customer_id
    {% endif %}

),

rebuilt as (

    -- The orders this build writes: every one on a full build; on an incremental one, the touched orders
    -- (guests included) and every order whose number can change.
    select
        order_id,
        customer_order_number
    from numbered
    where is_rebuilt
    {% if is_incremental() %}

    union all

    select
        order_id,
        cast(null as integer) as customer_order_number
    from touched
    where order_id not in (select numbered.order_id from numbered where numbered.is_rebuilt)
    {% endif %}

),

scope as (

    select
        orders.*,
        rebuilt.customer_order_number
    from orders
    {% if is_incremental() %}
    inner join rebuilt
        on orders.order_id = rebuilt.order_id
    where orders.order_id >= (select min(rebuilt.order_id) from rebuilt)
    {% else %}
    left join rebuilt
        on orders.order_id = rebuilt.order_id
    {% endif %}

),

items_per_order as (

    select
        order_id,
        cast(count(*) as integer) as line_count,
        cast(sum(quantity) as bigint) as item_count,
        max(loaded_at) as loaded_at
    from order_items
    {% if is_incremental() %}
    -- only the orders rebuilt: the lines of the whole history need not be summed every day
    where
        order_id in (select rebuilt.order_id from rebuilt)
        and order_id >= (select min(rebuilt.order_id) from rebuilt)
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
    where
        order_id in (select rebuilt.order_id from rebuilt)
        and order_id >= (select min(rebuilt.order_id) from rebuilt)
    {% endif %}
    group by order_id

),

order_sessions as (

    -- The session holding the order's first order_completed event.
    select
        completions.order_id,
        sessions.session_id,
        sessions.channel as session_channel
    from completions
    inner join sessions
        on
            completions.anonymous_id = sessions.anonymous_id
            and {{ holds_event('sessions', 'completions.completed_at', 'completions.event_id') }}
    {% if is_incremental() %}
    where completions.order_id in (select rebuilt.order_id from rebuilt)
    {% endif %}

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
        order_sessions.session_id,
        order_sessions.session_channel,
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
    left join order_sessions
        on scope.order_id = order_sessions.order_id

)

select * from final
