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


{% macro keys_loaded_or_erased(relation, key) -%}
    {#- The driving input of a staging model whose rows name a customer: the keys of raw `relation` with a
        row loaded since the watermark, and every key of a customer whose erasure request loaded since then,
        so rows staged before the request are staged again without the customer's personal data. -#}
    select {{ key }} from {{ relation }}
    where
        _loaded_at > {{ incremental_watermark('loaded_at') }}
        or customer_id in (
            select erasures.customer_id from {{ source('shop', 'customers') }} as erasures
            where
                erasures.is_deleted
                and erasures._loaded_at > {{ incremental_watermark('loaded_at') }}
        )
{%- endmacro %}
