#!/bin/sh
# check_cli.sh DI DATA PLUGINS WORK — the diwire tool: exit codes and output of
# every verb, --help, and the DOT it prints rendered by Graphviz.
set -u
DI=$1 DATA=$2 PLUGINS=$3 WORK=$4
CFG=$DATA/config
fails=0
out=$WORK/cli.out

# run EXPECTED_STATUS CMD... : run, keep stdout+stderr in $out
run() {
    want=$1; shift
    "$@" >"$out" 2>&1
    got=$?
    if [ "$got" != "$want" ]; then
        echo "FAIL: exit $got, wanted $want: $*"; sed 's/^/  | /' "$out"
        fails=$((fails + 1))
    fi
}
# has TEXT : the last output contains this line
has() {
    if ! grep -qxF -- "$1" "$out"; then
        echo "FAIL: no line '$1' in the output of the last command:"
        sed 's/^/  | /' "$out"
        fails=$((fails + 1))
    fi
}

cd "$CFG" || exit 1

run 0 "$DI" check app.json --plugin-dir "$PLUGINS"
has "app.json: ok (2 providers, 1 consumers, 3 scope levels)"

run 1 "$DI" check graph_errors.json --plugin-dir "$PLUGINS"
has "GET /hello → user: no provider 'user'"
has "GET /hello → hello → visits: no provider 'visits'"
has "graph_errors.json: 2 problems"

run 1 "$DI" check syntax_comma.json
has "syntax_comma.json:3:3: expected ',' or '}' after an object member, got '\"'"
has "syntax_comma.json: 1 problem"

run 1 "$DI" check unknown_field.json --plugin-dir "$PLUGINS"
has "unknown_field.json:5:51: providers.visits.lifetme: unknown field (did you mean 'lifetime'?) (fields: use, lifetime, deps, params, override)"
has "unknown_field.json: 2 problems"

run 1 "$DI" check nosuch.json
has "nosuch.json: cannot read: No such file or directory"

# sets: checked, drawn as 3-D boxes with their members' order
run 0 "$DI" check sets.json --plugin-dir "$PLUGINS"
has "sets.json: ok (4 providers, 1 consumers, 2 scope levels)"
run 0 "$DI" graph sets.json --plugin-dir "$PLUGINS"
has '      p2 [label="greeters\nset", shape=box3d, style=solid];'
has '  p2 -> p1 [label="1"];'
has '  p2 -> p0 [label="2"];'

run 0 "$DI" graph app.json --json --plugin-dir "$PLUGINS"
grep -q '"format":	1' "$out" || { echo "FAIL: graph --json"; fails=$((fails + 1)); }

run 1 "$DI" graph graph_errors.json --plugin-dir "$PLUGINS"
has '  m1 [label="user\n(missing)", color=red, fontcolor=red, style="rounded,dashed"];'

# contains TEXT : the last output contains this text somewhere
contains() {
    if ! grep -qF -- "$1" "$out"; then
        echo "FAIL: no '$1' in the output of the last command:"
        sed 's/^/  | /' "$out"
        fails=$((fails + 1))
    fi
}

# openapi: the routes (consumers named "METHOD /path"), security reached
# through the graph (GET /hello -> hello -> visits)
run 0 "$DI" openapi app.json --plugin-dir "$PLUGINS" --title hello \
    --version 2.0 --auth visits=header:X-Key
contains '"openapi":	"3.1.0"'
contains '"title":	"hello"'
contains '"/hello":	{'
contains '"operationId":	"get_hello"'
contains '"X-Key":	[]'
contains '"in":	"header",'
# ... a document FastAPI's own OpenAPI model accepts
if /usr/bin/python3 -c "import fastapi" 2>/dev/null; then
    /usr/bin/python3 -c 'import json, sys
from fastapi.openapi.models import OpenAPI
OpenAPI.parse_obj(json.load(open(sys.argv[1])))' "$out" ||
        { echo "FAIL: FastAPI's OpenAPI model refused diwire openapi's document"; fails=$((fails + 1)); }
else
    echo "SKIP: diwire openapi's document not validated (needs python3-fastapi)"
fi
run 1 "$DI" openapi graph_errors.json --plugin-dir "$PLUGINS"
has "GET /hello → user: no provider 'user'"
has "graph_errors.json: 2 problems"
run 2 "$DI" openapi app.json --plugin-dir "$PLUGINS" --auth visits=digest
has "diwire openapi: --auth 'visits=digest': the scheme is bearer, basic or header:NAME"
run 1 "$DI" openapi app.json --plugin-dir "$PLUGINS" --auth nobody=bearer \
    --auth nobody=basic
has "di_openapi_auth: 'nobody' is marked as 'bearer' already"

run 0 "$DI" why app.json hello --plugin-dir "$PLUGINS"
cat >"$WORK/why.want" <<'WANT'
hello (request, type greeter, kind demo.greeter)
needed by:
  GET /hello → hello
needs:
  visits (singleton, type counter, kind demo.counter)
  ?prefix (optional, absent)
WANT
diff -u "$WORK/why.want" "$out" || fails=$((fails + 1))

run 0 "$DI" why app.json "GET /hello" --plugin-dir "$PLUGINS"
has "GET /hello (consumer, level request)"
has "    visits (singleton, type counter, kind demo.counter)"

run 1 "$DI" why app.json nobody --plugin-dir "$PLUGINS"
has "diwire why: 'nobody' is neither a provider nor a consumer of app.json, and nothing needs it"

run 1 "$DI" plugins "$PLUGINS"
has "demo 1.2.3 (ABI 1.2) $PLUGINS/demo.so"
has "  demo.counter: type counter, lifetime singleton — a number that grows by step"
has "  demo.greeter: type greeter, lifetime request, roles counter:counter ?prefix"
has "refused: plugin $PLUGINS/bad_magic.so: not a libdi plugin: bad magic cookie 0xdeadbeef (expected 0x6469706c)"

for verb in check graph why plugins; do
    run 0 "$DI" $verb --help
    grep -q "^usage: diwire $verb" "$out" || { echo "FAIL: $verb --help"; fails=$((fails + 1)); }
done
run 0 "$DI" --help
has "usage: diwire <command> [arguments]"
run 2 "$DI" frobnicate
has "diwire: unknown command 'frobnicate'"
run 2 "$DI" check
has "diwire: missing CONFIG"
run 2 "$DI" check app.json --bogus
has "diwire: unknown option '--bogus'"
run 2 "$DI"

# `diwire check` runs in CI on changes nobody reviewed yet: a config naming a
# plugin directory of its own never gets code of its choice to run (the
# marked shared object's constructor would write the mark).
MARKED=$WORK/marked
mark=$WORK/cli-mark.$$
rm -f "$mark"
evil=$WORK/cli-evil.json
printf '{ "plugin_dirs": ["%s"], "plugins": ["mark"] }\n' "$MARKED" >"$evil"
export DI_TEST_MARK="$mark"
run 1 "$DI" check "$evil" --plugin-dir "$PLUGINS"
unset DI_TEST_MARK
has "$evil:1:19: plugin_dirs[0]: '$MARKED': a configuration may not add plugin directories (the program allows it with di_plugin_allow_config_dirs())"
if [ -e "$mark" ]; then
    echo "FAIL: diwire check ran code from a directory the config named"
    fails=$((fails + 1))
fi
rm -f "$evil" "$mark"

# Graphviz renders what `diwire graph` prints (valid and broken graphs).
if command -v dot >/dev/null 2>&1; then
    for cfg in app graph_errors sets; do
        "$DI" graph $cfg.json --plugin-dir "$PLUGINS" 2>/dev/null |
            dot -Tsvg >"$WORK/$cfg.svg" 2>"$WORK/dot.err"
        if ! grep -q "<svg" "$WORK/$cfg.svg" || [ -s "$WORK/dot.err" ]; then
            echo "FAIL: dot -Tsvg on diwire graph $cfg.json"; cat "$WORK/dot.err"
            fails=$((fails + 1))
        fi
    done
else
    echo "SKIP: Graphviz 'dot' not installed: DOT output not rendered"
fi

if [ "$fails" -ne 0 ]; then
    echo "$fails CLI check(s) failed"
    exit 1
fi
echo "CLI: all checks passed"
