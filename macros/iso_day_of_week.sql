{% macro iso_day_of_week(date) -%}
    {{ return(adapter.dispatch('iso_day_of_week', 'shopwarehouse')(date)) }}
{%- endmacro %}

{#- ISO day of the week: Monday 1 ... Sunday 7. -#}
{% macro default__iso_day_of_week(date) -%}
    extract(isodow from {{ date }})
{%- endmacro %}

{% macro snowflake__iso_day_of_week(date) -%}
    dayofweekiso({{ date }})
{%- endmacro %}

{% macro redshift__iso_day_of_week(date) -%}
    (case when extract(dow from {{ date }}) = 0 then 7 else extract(dow from {{ date }}) end)
{%- endmacro %}
