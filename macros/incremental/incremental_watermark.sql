{% macro incremental_watermark(column='source_loaded_at', relation=none) -%}
    {#- The one incremental pattern's watermark: the newest load time `column` in `relation` (default: the
        model or snapshot being built, this), less var('lookback_hours'). Every incremental model filters
        its driving input on `loaded_at > {{ incremental_watermark() }}` inside `{% if is_incremental() %}`;
        a snapshot writes the same filter without the guard (dbt's is_incremental() is false in
        snapshots), so on a snapshot's first run, as on an empty table, the watermark is the floor
        1900-01-01 and every row passes. Scoped data tests read it for the relation they test. -#}
    {%- set relation = relation if relation is not none else this -%}
    {%- set offline = var('assume_incremental', none) -%}
    {%- if model.resource_type == 'snapshot'
        and not (offline if offline is not none else (execute and load_relation(relation) is not none)) -%}
    cast('1900-01-01' as {{ dbt.type_timestamp() }})
    {%- else -%}
    coalesce(
        (select {{ dbt.dateadd('hour', -var('lookback_hours'), 'max(' ~ column ~ ')') }} from {{ relation }}),
        cast('1900-01-01' as {{ dbt.type_timestamp() }})
    )
    {%- endif -%}
{%- endmacro %}
