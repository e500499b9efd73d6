{% macro is_bot_user_agent(user_agent) -%}
    {#- Whether a user agent is a bot's: it contains one of var('bot_user_agent_patterns'),
        case-insensitively. A missing user agent is not a bot's. -#}
    coalesce(
        {%- for pattern in var('bot_user_agent_patterns') %}
        lower({{ user_agent }}) like '%{{ pattern | lower | replace("'", "''") }}%'
        {%- if not loop.last %} or{% endif %}
        {%- endfor %},
        false
    )
{%- endmacro %}


{% macro referrer_matches(referrer, patterns) -%}
    {#- Whether the referrer's host starts with one of `patterns`, with or without "www.". -#}
    (
        {%- for pattern in patterns %}
        {{ referrer }} like '%://{{ pattern }}%' or {{ referrer }} like '%://www.{{ pattern }}%'
        {%- if not loop.last %} or{% endif %}
        {%- endfor %}
    )
{%- endmacro %}


{% macro session_channel(utm_source, utm_medium, referrer, medium_channel) -%}
    {#- A session's marketing channel, from its landing event: campaign traffic by its medium
        (`medium_channel`, the utm_mediums seed's channel for it; other_campaign when the seed does not list
        it), then traffic without campaign parameters by its referrer: none is direct, a search engine's is
        organic_search, a social network's organic_social (var search_referrers, social_referrers), any
        other referral. -#}
    case
        when {{ utm_medium }} is not null or {{ utm_source }} is not null
            then coalesce({{ medium_channel }}, 'other_campaign')
        when {{ referrer }} is null or {{ referrer }} = '' then 'direct'
        when {{ referrer_matches(referrer, var('search_referrers')) }} then 'organic_search'
        when {{ referrer_matches(referrer, var('social_referrers')) }} then 'organic_social'
        else 'referral'
    end
{%- endmacro %}


{% macro holds_event(sessions, event_at, event_id) -%}
    {#- Whether a session of `sessions` (a relation or CTE alias with started_at, first_event_id, ended_at,
        last_event_id) holds the event at `event_at` with id `event_id`, of the same anonymous id (the
        caller joins on it). Events are ordered by time, then id, so two sessions can touch at one instant
        and still hold each event once. -#}
    ({{ sessions }}.started_at < {{ event_at }}
        or ({{ sessions }}.started_at = {{ event_at }} and {{ sessions }}.first_event_id <= {{ event_id }}))
    and ({{ sessions }}.ended_at > {{ event_at }}
        or ({{ sessions }}.ended_at = {{ event_at }} and {{ sessions }}.last_event_id >= {{ event_id }}))
{%- endmacro %}
