-- A table: dim_date and the daily exchange rates both read it, and it is small (one row per day).
{{ config(materialized='table') }}

with

orders as (

    select
        min(ordered_date) as first_day,
        max(ordered_date) as last_day
    from {{ ref('stg_shop__orders') }}

),

payments as (

    select
        min(created_date) as first_day,
        max(created_date) as last_day
    from {{ ref('stg_payments__payments') }}

),

business_days as (

    select * from orders
    union all
    select * from payments

),

extended as (

    -- From the earliest business date of any fact to the latest plus a margin, so a dashboard filtered to
    -- "the next weeks" has its days; var('calendar_start') / var('calendar_end') may reach further.
    select
        min(first_day) as first_day,
        cast({{ dbt.dateadd('day', var('calendar_margin_days'), 'max(last_day)') }} as date) as last_day
    from business_days
    {%- if var('calendar_start', none) %}
    union all
    select
        cast('{{ var("calendar_start") }}' as date) as first_day,
        cast('{{ var("calendar_start") }}' as date) as last_day
    {%- endif %}
    {%- if var('calendar_end', none) %}
    union all
    select
        cast('{{ var("calendar_end") }}' as date) as first_day,
        cast('{{ var("calendar_end") }}' as date) as last_day
    {%- endif %}

),

date_range as (

    -- No rows before any data has landed (and no var is set).
    select
        min(first_day) as first_day,
        max(last_day) as last_day
    from extended
    having min(first_day) is not null

),

final as (

    {{ date_spine('date_range') }}

)

select * from final
