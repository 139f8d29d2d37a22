#!/usr/bin/env bash
# Every role's commands, in order, on one machine — the README's walkthrough, runnable.
# Trustees, HQ, a polling station with simulated devices, an official, one voter,
# the tally and the verifier. tests/evote/test_walkthrough.py runs this script.
#
#   docs/walkthrough.sh DIR        (with the virtualenv's bin/ on PATH)
set -euo pipefail
W=${1:?usage: walkthrough.sh DIR}
SERVER_PORT=${SERVER_PORT:-8765}
KIOSK_PORT=${KIOSK_PORT:-8766}
mkdir -p "$W" && cd "$W"
pids=()
trap 'kill "${pids[@]}" 2>/dev/null || true' EXIT

wait_for_line() {  # FILE PREFIX: print the rest of the first line starting with PREFIX
  for _ in $(seq 100); do
    if line=$(grep -m1 "^$2" "$1" 2>/dev/null); then echo "${line#"$2"}"; return; fi
    sleep 0.1
  done
  echo "no '$2' line in $1" >&2; exit 1
}
kiosk() {  # ACTION [JSON]: what a touch on the kiosk page sends
  curl -sf -X POST -H 'Content-Type: application/json' -d "${2:-{\}}" \
    "http://127.0.0.1:$KIOSK_PORT/api/$1" > /dev/null
}
wait_state() {  # STATE: long-poll the kiosk until it shows STATE
  for _ in $(seq 100); do
    state=$(curl -sf "http://127.0.0.1:$KIOSK_PORT/api/state" \
      | python3 -c 'import json,sys; print(json.load(sys.stdin)["state"])' 2>/dev/null) || true
    [ "$state" = "$1" ] && return
    sleep 0.1
  done
  echo "kiosk stayed in '$state', wanted '$1'" >&2; exit 1
}
card_of() {  # ROLE: "national_code pin" of the first card-roll row with that role
  awk -F, -v role="$1" '$5 == role && ($6 == "" || $6 == "S-101") {print $1, $7; exit}' \
    sample/card-roll.csv
}

echo "== HQ: the election's files (manifest, roll, card roll)"
evote demo --write-sample sample

echo "== Trustees: key ceremony; each on its own machine, only exchange/ travels"
for i in 1 2 3; do echo "passphrase of trustee $i" > "pass-$i"; done
for i in 1 2 3; do
  evote trustee generate --index "$i" --private "trustee-$i" --exchange exchange \
    --manifest sample/manifest.json --passphrase-file "pass-$i" --kdf interactive
done
for step in share receive confirm; do
  for i in 1 2 3; do
    evote trustee "$step" --index "$i" --private "trustee-$i" --exchange exchange \
      --passphrase-file "pass-$i"
  done
done

echo "== HQ: create the election, issue cards, register the terminal, run the server"
evote server init --data-dir hq --manifest sample/manifest.json --trustees exchange \
  --roll sample/roll.csv
evote firmware-sim issue-cards --registry-key hq/keys/registry.key \
  --roll sample/card-roll.csv --out cards
evote terminal keygen terminal.key > terminal.pub
evote server register-terminal --data-dir hq T-S-101-1 S-101 "$(cat terminal.pub)"
evote server run --data-dir hq --port "$SERVER_PORT" > server.log 2>&1 & pids+=($!)

echo "== Polling station S-101: card reader and printer (simulated), then the terminal"
mkfifo reader.in
evote firmware-sim reader < reader.in > reader.out 2>&1 & pids+=($!)
exec 3> reader.in
evote firmware-sim printer --out receipts > printer.out 2>&1 & pids+=($!)
reader=$(wait_for_line reader.out "READER ")
printer=$(wait_for_line printer.out "PRINTER ")
wait_for_line server.log "" > /dev/null
until curl -sf "http://127.0.0.1:$SERVER_PORT/api/v1/election" > /dev/null; do sleep 0.2; done
evote terminal run --reader "$reader" --printer "$printer" \
  --server "http://127.0.0.1:$SERVER_PORT" --data-dir terminal \
  --terminal-id T-S-101-1 --terminal-key terminal.key --port "$KIOSK_PORT" \
  > terminal.out 2>&1 & pids+=($!)
wait_state idle

echo "== Official: official card + PIN, open polls (zero report printed)"
read -r official official_pin < <(card_of official)
echo "insert cards/card-$official.json" >&3
wait_state pin && kiosk pin "{\"pin\": \"$official_pin\"}" && wait_state officials
kiosk officials/open
echo remove >&3 && wait_state idle

echo "== Voter: card + PIN, choose, review, cast; the receipt prints"
read -r voter voter_pin < <(card_of voter)
echo "insert cards/card-$voter.json" >&3
wait_state pin && kiosk pin "{\"pin\": \"$voter_pin\"}" && wait_state ballot
kiosk review '{"choices": {"majlis": ["1101", "1104"], "experts": ["2203"]}}'
kiosk confirm && wait_state tracking
kiosk cast && wait_state receipt
echo remove >&3 && wait_state idle

echo "== Official: close polls (closing report printed as a poll tape)"
echo "insert cards/card-$official.json" >&3
wait_state pin && kiosk pin "{\"pin\": \"$official_pin\"}" && wait_state officials
kiosk officials/close
echo remove >&3 && wait_state idle

echo "== HQ: export the record and sum the encrypted ballots"
evote record export record --data-dir hq --exchange exchange
evote tally totals record

echo "== Trustees 1 and 3 (any 2 of 3): decryption shares with proofs"
for i in 1 3; do
  evote trustee decrypt --index "$i" --private "trustee-$i" --exchange exchange \
    --passphrase-file "pass-$i" --totals record/tally/encrypted_totals.json
done

echo "== HQ: combine the shares, publish results"
evote tally decrypt record exchange/decryption-1.json exchange/decryption-3.json

echo "== Anyone: verify the record"
evote verify record --no-progress
