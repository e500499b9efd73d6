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

-- touched_orders() reads all three staged feeds and the daily exchange rates on incremental runs:
-- depends_on: {{ ref('stg_payments__payments') }}, {{ ref('stg_shop__order_items') }}, {{ ref('stg_shop__orders') }}
-- depends_on: {{ ref('int_fx_rates__daily') }}

with

payments as (

    select * from {{ ref('int_payments__converted') }}

),

orders as (

    select * from {{ ref('int_orders__converted') }}

),

scope as (

    select *
    from payments
    {% if is_incremental() %}
    -- Attempts are numbered within their order: rebuild every attempt of an order that changed.
    {%- set touched = '(' ~ touched_orders(this) ~ ') as touched' %}
    where {{ in_key_set('order_id', 'touched.order_id', touched) }}
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
