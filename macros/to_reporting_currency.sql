{% macro to_reporting_currency(amount, rate) -%}
    {#- An amount converted to var('reporting_currency'): `rate` is the `reporting_rate` of the amount's
        currency (see reporting_rates()); the result is rounded once, to the cent. -#}
    cast(round({{ amount }} * {{ rate }}, 2) as decimal(18, 2))
{%- endmacro %}
