-- A table rebuilt on every run, not incremental like the other staging models: a few thousand rows a
-- year per currency, and a correction must replace its version wherever it lands.
{{ config(materialized='table') }}

with

source as (

    select * from {{ source('fx', 'fx_rates') }}

),

keyed as (

    select
        *,
        upper(trim(currency)) as currency_code
    from source

),

latest as (

    {{ latest_row_per_key('keyed', 'currency_code, rate_date') }}

),

final as (

    -- The US dollar is the base (1 by definition): a delivered USD row is not a rate.
    select
        currency_code as currency,
        rate_date,
        cast(usd_per_unit as decimal(18, 8)) as usd_per_unit,
        updated_at,
        _loaded_at as loaded_at
    from latest
    where currency_code <> 'USD'

)

select * from final
