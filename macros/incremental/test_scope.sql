{% macro recent_rows(relation, column) -%}
    {#- `relation` as a test should read it: whole, or, with var('test_scope') = 'recent' (the daily run
        sets it), only its rows with `column` (a load time) within var('lookback_hours') of the newest: the
        rows the incremental models could have rebuilt since the last run. -#}
    {%- if column and var('test_scope', 'all') == 'recent' -%}
        {{ return('(select * from ' ~ relation ~ ' where ' ~ column ~ ' > ' ~ incremental_watermark(column, relation) ~ ')') }}
    {%- endif -%}
    {{ return(relation) }}
{%- endmacro %}


{% macro load_time_column() -%}
    {#- The load-time column a generic test's model, seed, snapshot or source names in its
        meta.load_time_column, if any. -#}
    {%- set tested = graph.nodes.get(model.attached_node) if model.attached_node else none -%}
    {%- if tested is none and model.sources -%}
        {%- set tested = graph.sources.get('source.' ~ project_name ~ '.' ~ model.sources[0] | join('.')) -%}
    {%- endif -%}
    {{ return(tested.config.meta.get('load_time_column') if tested else none) }}
{%- endmacro %}


{% macro get_where_subquery(relation) -%}
    {#- dbt's hook for a generic test's relation (its `where` config), overridden to add the test scope:
        with var('test_scope') = 'recent', a test of a relation with meta.load_time_column checks only its
        recent rows (recent_rows). A test with meta.test_scope = 'all' (a row count, say) always reads
        every row. -#}
    {%- set scoped = relation -%}
    {%- if execute and (config.get('meta') or {}).get('test_scope') != 'all' -%}
        {%- set scoped = recent_rows(relation, load_time_column()) -%}
    {%- endif -%}
    {%- set where = config.get('where') -%}
    {%- if where -%}
        {{ return('(select * from ' ~ scoped ~ ' where ' ~ where ~ ') dbt_subquery') }}
    {%- elif scoped != relation -%}
        {{ return(scoped ~ ' dbt_subquery') }}
    {%- endif -%}
    {{ return(relation) }}
{%- endmacro %}
