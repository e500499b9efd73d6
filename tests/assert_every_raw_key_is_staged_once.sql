-- Raw row counts against staged keys: every distinct key in a raw table is exactly one staged row, so the
-- change feed is collapsed without losing or inventing keys. One row per entity that does not match.
with

raw_keys as (

    select 'customers' as entity, count(distinct customer_id) as keys from {{ source('shop', 'customers') }}
    union all
    select 'products', count(distinct product_id) from {{ source('shop', 'products') }}
    union all
    select 'orders', count(distinct order_id) from {{ source('shop', 'orders') }}
    union all
    select 'order_items', count(distinct order_item_id) from {{ source('shop', 'order_items') }}
    union all
    select 'payments', count(distinct payment_id) from {{ source('payments', 'payments') }}

),

staged_rows as (

    select 'customers' as entity, count(*) as keys from {{ ref('stg_shop__customers') }}
    union all
    select 'products', count(*) from {{ ref('stg_shop__products') }}
    union all
    select 'orders', count(*) from {{ ref('stg_shop__orders') }}
    union all
    select 'order_items', count(*) from {{ ref('stg_shop__order_items') }}
    union all
    select 'payments', count(*) from {{ ref('stg_payments__payments') }}

),

final as (

    select
        raw_keys.entity,
        raw_keys.keys as raw_keys,
        staged_rows.keys as staged_rows
    from raw_keys
    inner join staged_rows
        on raw_keys.entity = staged_rows.entity
    where raw_keys.keys <> staged_rows.keys

)

select * from final
