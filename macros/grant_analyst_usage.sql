{#- The on-run-end hook: usage on the marts schema for the analyst role (SHOPWAREHOUSE_ANALYST_ROLE), beside
    the select on each mart that the marts' grants config gives; nothing when no role is set. -#}
{% macro grant_analyst_usage() %}
    {%- set role = env_var('SHOPWAREHOUSE_ANALYST_ROLE', '') -%}
    {%- if role and execute -%}
        {{ adapter.dispatch('grant_analyst_usage', 'shopwarehouse')(generate_schema_name('marts', none), role) }}
    {%- endif -%}
{% endmacro %}

{% macro default__grant_analyst_usage(schema, role) -%}
    grant usage on schema {{ schema }} to {{ role }}
{%- endmacro %}

{% macro snowflake__grant_analyst_usage(schema, role) -%}
    grant usage on schema {{ target.database }}.{{ schema }} to role {{ role }}
{%- endmacro %}

{% macro duckdb__grant_analyst_usage(schema, role) -%}
    {#- DuckDB has no roles: readers open the published read-only copy (shopwarehouse/publish.py). -#}
{%- endmacro %}
