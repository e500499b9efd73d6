-- A table: every fact row joins it on (currency, day); a few thousand rows a year per currency.
{{ config(materialized='table') }}

with

calendar as (

    select * from {{ ref('int_calendar__days') }}

),

rates as (

    select * from {{ ref('stg_fx__rates') }}

),

currencies as (

    select distinct currency from rates

),

calendar_start as (

    select min(date_day) as first_day from calendar

),

opening_rates as (

    -- The rate in force on the calendar's first day: the latest one delivered before it, if any.
    select
        rates.currency,
        max(rates.rate_date) as rate_date
    from rates
    cross join calendar_start
    where rates.rate_date < calendar_start.first_day
    group by rates.currency

),

currency_days as (

    -- Each currency on each calendar day, with the day's own rate date when one was delivered for it.
    select
        currencies.currency,
        calendar.date_day,
        rates.rate_date as delivered_rate_date
    from currencies
    cross join calendar
    left join rates
        on
            currencies.currency = rates.currency
            and calendar.date_day = rates.rate_date

),

in_force as (

    -- The latest rate on or before each day: a weekend or a day without a delivery keeps the last rate.
    select
        currency_days.currency,
        currency_days.date_day,
        coalesce(
            max(currency_days.delivered_rate_date) over (
                partition by currency_days.currency
                order by currency_days.date_day
                rows between unbounded preceding and current row
            ),
            opening_rates.rate_date
        ) as rate_date
    from currency_days
    left join opening_rates
        on currency_days.currency = opening_rates.currency

),

usd_rates as (

    select
        in_force.currency,
        in_force.date_day,
        in_force.rate_date,
        rates.usd_per_unit,
        rates.loaded_at
    from in_force
    inner join rates
        on
            in_force.currency = rates.currency
            and in_force.rate_date = rates.rate_date

    union all

    -- The base: a US dollar is worth one, every day.
    select
        'USD' as currency,
        date_day,
        null as rate_date,
        cast(1 as decimal(18, 8)) as usd_per_unit,
        null as loaded_at
    from calendar

),

reporting as (

    select
        date_day,
        usd_per_unit,
        loaded_at
    from usd_rates
    where currency = '{{ var("reporting_currency") }}'

),

final as (

    select
        usd_rates.currency,
        usd_rates.date_day,
        usd_rates.rate_date,
        usd_rates.usd_per_unit,
        cast(usd_rates.usd_per_unit / reporting.usd_per_unit as decimal(18, 8)) as reporting_rate,
        -- When the newer of the two rates behind the day's reporting rate was loaded: a correction of
        -- either one moves it, and the facts rebuild the days it governs.
        coalesce(
            greatest(usd_rates.loaded_at, reporting.loaded_at), usd_rates.loaded_at, reporting.loaded_at
        ) as loaded_at
    from usd_rates
    inner join reporting
        on usd_rates.date_day = reporting.date_day

)

select * from final
