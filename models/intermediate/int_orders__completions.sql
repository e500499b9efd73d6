-- Each order's first order_completed event (bots never order): the visitor who completed it, and when. The
-- session holding this event is the order's; a completion page seen again later does not move the order.
with

completed as (

    select * from {{ ref('stg_clickstream__events') }}
    where
        event_type = 'order_completed'
        and order_id is not null
        and not is_bot

),

ranked as (

    select
        order_id,
        anonymous_id,
        event_id,
        occurred_at,
        loaded_at,
        row_number() over (partition by order_id order by occurred_at, event_id) as completion_rank
    from completed

),

final as (

    select
        order_id,
        anonymous_id,
        event_id,
        occurred_at as completed_at,
        loaded_at
    from ranked
    where completion_rank = 1

)

select * from final
