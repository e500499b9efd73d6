{#-
    The one place this project bends to the Snowflake emulator (fakesnow, reached over plain http; real
    Snowflake is https only). fakesnow cannot create temporary tables ("TEMPORARY table names can only use
    the temp catalog"), which dbt-snowflake uses for an incremental model's new rows. On the emulator
    only, those rows go to a transient table instead; on Snowflake itself, nothing changes. What the emulator still cannot run is listed in SNOWFLAKE_EMULATOR_EXCLUDES
    (the Python test_portability.py) and in the README.
-#}
{% macro is_snowflake_emulator() %}
    {{ return(target.type == 'snowflake' and target.protocol == 'http') }}
{% endmacro %}

{% macro dbt_snowflake_get_tmp_relation_type(strategy, unique_key, language) %}
    {%- if is_snowflake_emulator() and language == 'sql' -%}
        {{ return('transient') }}
    {%- endif -%}
    {{ return(dbt_snowflake.dbt_snowflake_get_tmp_relation_type(strategy, unique_key, language)) }}
{% endmacro %}

