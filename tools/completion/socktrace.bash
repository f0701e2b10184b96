# bash completion for socktrace(1). Installed as
# share/bash-completion/completions/socktrace; to try it from a checkout:
#   source tools/completion/socktrace.bash
# The lists follow `socktrace --help` (tests/install checks that they do);
# event names come from `socktrace events` itself.

_socktrace() {
  local cur prev words cword
  if declare -F _init_completion >/dev/null; then
    _init_completion -n = || return
  else
    cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD - 1]}
    words=("${COMP_WORDS[@]}") cword=$COMP_CWORD
  fi

  local commands="trace run replay report collect top diff demo start query update flush stop events catalog"
  local options="--level --keywords --pid --port --host --family --protocol --container --events --dns-timeout
    --format --output --max-size --max-files --block-size --compress --summary --all --fail-on --timeline
    --quiet --color --local-time --stats --stats=json --all-providers --file-mode
    --metrics --metrics-max-series
    --control-dir --foreground --config --clear-filters --backend --interface
    --capture-filter --ring-size --catalog-root --trace-self --debug --buffer-size --buffers
    --host-name --nats-creds --nats-tls-ca --nats-tls-cert --nats-tls-key --nats-retry
    --nats-buffer --nats-replicas --nats-max-age --nats-max-bytes --since --since-seq
    --otlp-header --otlp-ca --otlp-buffer --otlp-retry
    --delay --batch --iterations --group --sort --session --speed --cmd-output --help"
  local diff_options="--format --output --bytes-tolerance --order --color --help"
  local statuses="ok pending would_block refused reset aborted timed_out host_unreachable
    net_unreachable addr_in_use addr_not_available access_denied not_connected shutdown
    msg_size no_buffers cancelled invalid not_found server_failure other unfinished dns lost"

  # The command comes first; `run` and `top` end their options at `--`,
  # then a command line of its own follows.
  if ((cword == 1)); then
    COMPREPLY=($(compgen -W "$commands --help --version" -- "$cur"))
    return
  fi
  local cmd=${words[1]} i
  if [[ $cmd == run || $cmd == top ]]; then
    for ((i = 2; i < cword; i++)); do
      if [[ ${words[i]} == -- ]]; then
        if declare -F _command_offset >/dev/null; then
          _command_offset $((i + 1))
        else
          COMPREPLY=($(compgen -c -- "$cur"))
        fi
        return
      fi
    done
  fi

  case $prev in
  -l | --level) COMPREPLY=($(compgen -W "4 5" -- "$cur")); return ;;
  -f | --format)
    case $cmd in
    diff) COMPREPLY=($(compgen -W "text jsonl markdown" -- "$cur")) ;;
    query) COMPREPLY=($(compgen -W "text json" -- "$cur")) ;;
    *) COMPREPLY=($(compgen -W "text jsonl csv summary markdown chrome html null" -- "$cur")) ;;
    esac
    return ;;
  --fail-on)
    local head=${cur%"${cur##*,}"}
    COMPREPLY=($(compgen -P "$head" -W "$statuses" -- "${cur##*,}")); return ;;
  -k | --keywords)
    local kw="datagram stream winsock transport state summary loss catalog dns all"
    local head=${cur%"${cur##*,}"}
    COMPREPLY=($(compgen -P "$head" -W "$kw" -- "${cur##*,}")); return ;;
  -e | --events)
    local head=${cur%"${cur##*,}"} names
    names=$("${words[0]}" events 2>/dev/null | awk 'NR > 1 { print $4 }')
    COMPREPLY=($(compgen -P "$head" -W "$names" -- "${cur##*,}")); return ;;
  --family) COMPREPLY=($(compgen -W "inet inet6 unix" -- "$cur")); return ;;
  -g | --group) COMPREPLY=($(compgen -W "process remote container host" -- "$cur")); return ;;
  --sort)
    COMPREPLY=($(compgen -W "conn acc failed rst-in rst-out retrans in out p50 p99 dns key" -- "$cur"))
    return ;;
  --session)
    local dir=${SOCKTRACE_RUN_DIR:-/run/socktrace} f names=""
    ((EUID != 0)) && [[ -z ${SOCKTRACE_RUN_DIR:-} ]] && dir=${XDG_RUNTIME_DIR:-/nonexistent}/socktrace
    for f in "$dir"/*.sock; do [[ -e $f ]] && names+=" $(basename "$f" .sock)"; done
    COMPREPLY=($(compgen -W "$names" -- "$cur"))
    return ;;
  --protocol) COMPREPLY=($(compgen -W "tcp udp" -- "$cur")); return ;;
  --container) return ;;
  --color | --colour) COMPREPLY=($(compgen -W "auto always never" -- "$cur")); return ;;
  --compress) COMPREPLY=($(compgen -W "zstd none zstd:1 zstd:3 zstd:9 zstd:19" -- "$cur")); return ;;
  --backend) COMPREPLY=($(compgen -W "ebpf ptrace pcap etw" -- "$cur")); return ;;
  -i | --interface)
    COMPREPLY=($(compgen -W "any $(ls /sys/class/net 2>/dev/null)" -- "$cur")); return ;;
  -p | --pid) COMPREPLY=($(compgen -W "$(ps -eo pid= 2>/dev/null)" -- "$cur")); return ;;
  -o | --output | --cmd-output | --config | --control-dir | --catalog-root | --nats-creds | --nats-tls-ca | \
    --nats-tls-cert | --nats-tls-key)
    if declare -F _filedir >/dev/null; then _filedir; else COMPREPLY=($(compgen -f -- "$cur")); fi
    return ;;
  --port | --host | --dns-timeout | --max-size | --max-files | --block-size | --capture-filter | \
    --ring-size | --buffer-size | --buffers | --file-mode | --metrics | --metrics-max-series | \
    --bytes-tolerance | --host-name | --nats-buffer | --nats-replicas | --nats-max-age | \
    --nats-max-bytes | --since | --since-seq | -d | --delay | -n | --iterations | --speed)
    return ;;
  esac

  case $cmd in
  events | catalog) return ;;
  diff) options=$diff_options ;;
  query | update | flush | stop)
    if [[ $cur != -* ]] && ((cword == 2)); then
      # The running sessions: their control sockets.
      local dir=${SOCKTRACE_RUN_DIR:-/run/socktrace} f names=""
      ((EUID != 0)) && [[ -z ${SOCKTRACE_RUN_DIR:-} ]] && dir=${XDG_RUNTIME_DIR:-/nonexistent}/socktrace
      for f in "$dir"/*.sock; do [[ -e $f ]] && names+=" $(basename "$f" .sock)"; done
      COMPREPLY=($(compgen -W "$names" -- "$cur"))
      return
    fi ;;
  esac
  if [[ $cur == -* ]]; then
    COMPREPLY=($(compgen -W "$options" -- "$cur"))
    [[ ${COMPREPLY[0]} == *= ]] && compopt -o nospace 2>/dev/null
  elif [[ $cmd == replay || $cmd == report || $cmd == diff || $cmd == top ]]; then
    if declare -F _filedir >/dev/null; then
      _filedir '@(sktrace|jsonl|json|pcap|pcapng|cap|etl)'
    else
      COMPREPLY=($(compgen -f -- "$cur"))
    fi
  elif [[ $cmd == run ]]; then
    COMPREPLY=($(compgen -W "--" -- "$cur"))
  fi
}
complete -F _socktrace socktrace
