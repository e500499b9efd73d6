{#- The schemas of the environment SHOPWAREHOUSE_ENV (default dev): dev keeps the plain names, any other
    environment prefixes them with its name, as shopwarehouse.config.env_schema does for the loaders' raw
    schema and the run ledger's ops schema. The sources' schema says the same inline, since a source's
    properties cannot call a macro. -#}
{% macro env_schema(name) -%}
    {%- set env = env_var('SHOPWAREHOUSE_ENV', 'dev') -%}
    {{- name if env == 'dev' else env ~ '_' ~ name -}}
{%- endmacro %}

{% macro generate_schema_name(custom_schema_name, node) -%}
    {{- env_schema(default__generate_schema_name(custom_schema_name, node)) -}}
{%- endmacro %}
