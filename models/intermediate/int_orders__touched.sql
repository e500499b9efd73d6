-- One row per staged row that bears on an order (row_kind, row_id), with when it was loaded: the order itself, its lines,
-- its payments, and the exchange rates of its day and of its payments' days. An incremental fact filters
-- it on loaded_at > its own watermark; union all keeps each branch a plain scan that the filter reaches.
with

orders as (

    select * from {{ ref('stg_shop__orders') }}

),

order_items as (

    select * from {{ ref('stg_shop__order_items') }}

),

payments as (

    select * from {{ ref('stg_payments__payments') }}

),

order_rates as (

    -- The rate an order converts at: int_orders__converted's, loaded with the rate.
    select
        order_id,
        rate_loaded_at
    from {{ ref('int_orders__converted') }}

),

payment_rates as (

    select
        payment_id,
        order_id,
        rate_loaded_at
    from {{ ref('int_payments__converted') }}

),

final as (

    select
        'order' as row_kind,
        order_id as row_id,
        order_id,
        loaded_at
    from orders

    union all

    select
        'order_item' as row_kind,
        order_item_id as row_id,
        order_id,
        loaded_at
    from order_items

    union all

    select
        'payment' as row_kind,
        payment_id as row_id,
        order_id,
        loaded_at
    from payments

    union all

    -- A late or corrected exchange rate changes the reporting amounts of the orders of its day.
    select
        'order_rate' as row_kind,
        order_id as row_id,
        order_id,
        rate_loaded_at as loaded_at
    from order_rates

    union all

    select
        'payment_rate' as row_kind,
        payment_id as row_id,
        order_id,
        rate_loaded_at as loaded_at
    from payment_rates

)

select * from final
