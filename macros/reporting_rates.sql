{% macro reporting_rates() -%}
    {#- One row per currency of the fx_rates seed with `reporting_rate`: what one unit of it is worth in
        var('reporting_currency'), through the US dollar. -#}
    select
        fx_rates.currency,
        cast(fx_rates.usd_per_unit / reporting.usd_per_unit as decimal(18, 8)) as reporting_rate
    from {{ ref('fx_rates') }} as fx_rates
    cross join (
        select usd_per_unit
        from {{ ref('fx_rates') }}
        where currency = '{{ var("reporting_currency") }}'
    ) as reporting
{%- endmacro %}
