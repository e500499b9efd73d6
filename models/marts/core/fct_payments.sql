{{
    config(
        materialized='incremental',
        unique_key='payment_id',
        incremental_strategy='delete+insert',
        dist='order_id',
        sort=['created_date'],
        cluster_by=['created_date'],
    )
}}

{#- The incremental scope's input, named outside the incremental branch so dbt records the dependency on
    every parse (a ref() only inside {% if is_incremental() %} is not seen). -#}
{%- set touched_rows = ref('int_orders__touched') %}

with

payments as (

    select * from {{ ref('int_payments__converted') }}

),

orders as (

    select * from {{ ref('int_orders__converted') }}

),

{% if is_incremental() %}
touched_rows as (

    select * from {{ touched_rows }}

),

touched as (

    -- The driving input: the orders with a row loaded since the watermark.
    select distinct order_id
    from touched_rows
    where loaded_at > {{ incremental_watermark() }}

),
{% endif %}

scope as (

    select *
    from payments
    {% if is_incremental() %}
    -- Attempts are numbered within their order: rebuild every attempt of an order that changed. Keys are
    -- issued in order: the range lets the scan skip the row groups of old loads unread.
    where
        order_id in (select touched.order_id from touched)
        and order_id >= (select min(touched.order_id) from touched)
    {% endif %}

),

final as (

    select
        scope.payment_id,
        scope.order_id,
        orders.customer_id,
        scope.payment_method,
        scope.payment_method_group,
        scope.payment_status,
        scope.is_captured,
        scope.is_failed,
        scope.is_pending,
        scope.failure_reason,
        scope.currency,
        scope.amount,
        scope.refunded_amount,
        scope.amount_reporting,
        scope.refunded_amount_reporting,
        cast(row_number() over (
            partition by scope.order_id
            order by scope.created_at, scope.payment_id
        ) as integer) as attempt_number,
        scope.created_at,
        scope.created_date,
        scope.updated_at,
        coalesce(greatest(scope.loaded_at, scope.rate_loaded_at), scope.loaded_at) as source_loaded_at
    from scope
    -- A payment whose order has not landed yet waits for it, like an order line.
    inner join orders
        on scope.order_id = orders.order_id

)

select * from final
