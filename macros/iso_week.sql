{% macro iso_week(date) -%}
    {{ return(adapter.dispatch('iso_week', 'shopwarehouse')(date)) }}
{%- endmacro %}

{#- ISO-8601 week number (1-53); weeks start on Monday and week 1 holds the year's first Thursday. -#}
{% macro default__iso_week(date) -%}
    extract(week from {{ date }})
{%- endmacro %}

{% macro snowflake__iso_week(date) -%}
    weekiso({{ date }})
{%- endmacro %}
