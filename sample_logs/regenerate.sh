#!/bin/sh
# Regenerates every bundled replay in sample_logs/ (byte-identical: fixed seed, fixed
# start, gzip without timestamps). Run from the repository root: sh sample_logs/regenerate.sh
set -e
synth() { loganalyze synth "$@" --users 60 --minutes 10 --seed 20260312 --gzip; }
for dir in eventlive-incident eventlive-fixed realtime-outage realtime-outage-breaker \
           eventlive-incident-selfhosted; do
    find "sample_logs/$dir" -type f ! -name README.md -delete 2>/dev/null || true
done
synth incident --out sample_logs/eventlive-incident -f drain -f vercel -f cron
synth p1-fixed --out sample_logs/eventlive-fixed -f studio-csv -f vercel -f cron
synth realtime-outage --out sample_logs/realtime-outage -f studio-json -f vercel -f cron
synth realtime-outage --breaker --out sample_logs/realtime-outage-breaker -f drain -f vercel -f cron
synth incident --out sample_logs/eventlive-incident-selfhosted -f selfhosted -f vercel -f cron
