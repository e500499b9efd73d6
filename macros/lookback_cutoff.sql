{% macro lookback_cutoff(relation, column='source_loaded_at') -%}
    {#- The incremental cursor, as a scalar subquery: the newest load time `column` in `relation`, less
        var('lookback_hours'). Rows loaded after it are what a build (or the daily run's tests) must look
        at again; null when `relation` is empty. -#}
    (select {{ dbt.dateadd('hour', -var('lookback_hours'), 'max(' ~ column ~ ')') }} from {{ relation }})
{%- endmacro %}
