-- Orders attributed to sessions = orders with an order_completed event: each order the clickstream saw
-- completed (int_orders__completions) is in one session's orders, and the sessions' orders and revenue add
-- up to the attributed orders of fct_orders. One row per figure that disagrees.
with

completions as (

    select * from {{ ref('int_orders__completions') }}

),

orders as (

    select * from {{ ref('fct_orders') }}

),

sessions as (

    select * from {{ ref('fct_sessions') }}

),

figures as (

    select
        'orders completed in the clickstream' as figure,
        (select count(*) from completions) as expected,
        (select coalesce(sum(sessions.orders), 0) from sessions) as actual

    union all

    select
        'landed orders completed in the clickstream' as figure,
        (
            select count(*)
            from completions
            where completions.order_id in (select orders.order_id from orders)
        ) as expected,
        (
            select count(*)
            from orders
            where orders.session_id is not null
        ) as actual

    union all

    -- in cents, so the comparison is exact on every warehouse
    select
        'revenue of valid attributed orders, cents' as figure,
        (
            select round(coalesce(sum(orders.total_amount_reporting), 0) * 100, 0)
            from orders
            where orders.session_id is not null and orders.is_valid_order
        ) as expected,
        (select round(coalesce(sum(sessions.revenue), 0) * 100, 0) from sessions) as actual

),

final as (

    select * from figures
    where expected <> actual

)

select * from final
