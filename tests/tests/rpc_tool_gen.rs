//! `rpc gen python`: the generated module for the calculator (snapshot), checked by
//! `python3 -m py_compile` and `mypy --strict`, the same bytes from a live server and from its
//! schema file, hostile names escaped, and the generated account client driving a real
//! `account-server` (TCP and Unix) through a whole flow and the README's script.
//!
//! python3 and mypy come from Debian (.ci/run installs them). Without one of them a test prints
//! why it skips, unless `CI` is set: then it fails.

use crate::accounts::support::{Server, binary};
use crate::protocol::{CalcClient, Calculator, NotesClient, ServeCalc};
use rpc_runtime::Server as RpcServer;
use rpc_runtime::schema::DescribeDoc;
use rpc_tool::codegen;
use rpc_tool::conn::Connection;
use rpc_tool::schema::Schema;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

type TestResult = Result<(), Box<dyn std::error::Error>>;

/// The path of `program` on `PATH`; `None` (after saying why) when it is missing and `CI` is
/// unset. With `CI` set a missing program fails the test.
fn tool(program: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    let found = std::env::split_paths(&path)
        .map(|dir| dir.join(program))
        .find(|candidate| candidate.is_file());
    if found.is_none() {
        assert!(
            std::env::var_os("CI").is_none(),
            "{program} is needed in CI (.ci/run installs it)"
        );
        eprintln!("skipping: {program} not found on PATH");
    }
    found
}

fn run(command: &mut Command) -> Output {
    let output = command
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("cannot run {command:?}: {e}"));
    assert!(
        output.status.success(),
        "{command:?} failed ({}):\n{}\n{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

/// `py_compile` and, when mypy is there, `mypy --strict` for Python 3.9 on `module` (a file in its own dir).
fn check_module(python: &Path, module: &Path) {
    run(Command::new(python).args(["-m", "py_compile"]).arg(module));
    if let Some(mypy) = tool("mypy") {
        let dir = module.parent().expect("the module's directory");
        run(Command::new(mypy)
            .args(["--strict", "--python-version", "3.9", "--no-incremental"])
            .args(["--cache-dir", "/dev/null"])
            .arg(module)
            .current_dir(dir));
    }
}

fn calc_server() -> Result<rpc_runtime::server::RunningServer, Box<dyn std::error::Error>> {
    Ok(RpcServer::builder()
        .listen("tcp://127.0.0.1:0".parse()?)
        .serve(ServeCalc::new(Calculator))
        .bind()?
        .spawn()?)
}

fn calc_module(
    server: &rpc_runtime::server::RunningServer,
) -> Result<String, Box<dyn std::error::Error>> {
    let mut conn = Connection::connect(&server.endpoints()[0], Duration::from_secs(30))?;
    let (schema, _) = Schema::fetch(&mut conn)?;
    Ok(codegen::python(&schema)?)
}

#[test]
fn python_module_of_the_calculator() -> TestResult {
    let server = calc_server()?;
    let module = calc_module(&server)?;
    insta::assert_snapshot!(module);
    let Some(python) = tool("python3") else {
        return Ok(());
    };
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("calc.py");
    std::fs::write(&path, &module)?;
    check_module(&python, &path);
    // The module against the server: a result, both typed errors, a pipeline, the formats.
    let script = r#"
import sys, struct
import calc
c = calc.CalcClient(sys.argv[1], timeout=30)
assert c.add(2, 40) == calc.AddResponse(42), c.add(2, 40)
try:
    c.add(2**63 - 1, 1)
    raise SystemExit('no overflow')
except calc.Overflow as e:
    assert e.error is calc.MathError.Overflow and e.status == 1, e
try:
    c.div(7, 0)
    raise SystemExit('no division error')
except calc.DivisionByZero as e:
    assert e.error is calc.MathError.DivisionByZero
with c.pipeline() as p:
    calls = [p.div(84, d) for d in (1, 2, 3, 4)]
assert [x.result().value for x in calls] == [84, 42, 28, 21]
assert struct.calcsize(calc.AddRequest.FORMAT) == calc.AddRequest.SIZE == 16
assert calc.AddRequest(2, 40).pack() == struct.pack('!qq', 2, 40)
assert calc.AddResponse.unpack(struct.pack('!q', -5)) == calc.AddResponse(-5)
print('ok')
"#;
    let out = run(Command::new(&python)
        .args(["-c", script])
        .arg(server.endpoints()[0].to_string())
        .current_dir(dir.path()));
    assert_eq!(String::from_utf8_lossy(&out.stdout), "ok\n");
    Ok(())
}

/// The module's connection against a scripted Python server: the request frames it writes,
/// replies out of order, pings, goaway, statuses, a local deadline and its Cancel, errors on
/// the connection and a peer that speaks another protocol.
#[test]
fn generated_connection_follows_the_protocol() -> TestResult {
    let Some(python) = tool("python3") else {
        return Ok(());
    };
    let calc = DescribeDoc::new(1, &[&CalcClient::SCHEMA])?.to_json();
    let module = codegen::python(&Schema::parse(calc.as_bytes())?)?;
    let dir = tempfile::tempdir()?;
    std::fs::write(dir.path().join("calc.py"), module)?;
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/rpc_tool_gen/protocol_check.py");
    let out = run(Command::new(&python)
        .arg(script)
        .arg(dir.path())
        .env("PYTHONDONTWRITEBYTECODE", "1"));
    assert_eq!(String::from_utf8_lossy(&out.stdout), "ok\n");
    Ok(())
}

#[test]
fn gen_python_from_a_live_server_equals_gen_from_its_schema_file() -> TestResult {
    let server = calc_server()?;
    let endpoint = server.endpoints()[0].to_string();
    let rpc = binary("rpc", "rpc-tool");
    let dir = tempfile::tempdir()?;
    let describe = run(Command::new(&rpc).args(["describe", "--json", &endpoint]));
    let file = dir.path().join("calc.json");
    std::fs::write(&file, &describe.stdout)?;
    let live = run(Command::new(&rpc).args(["gen", "python", &endpoint]));
    let from_file = run(Command::new(&rpc)
        .args(["gen", "python", "--from-schema"])
        .arg(&file));
    assert_eq!(
        String::from_utf8_lossy(&live.stdout),
        String::from_utf8_lossy(&from_file.stdout)
    );
    assert_eq!(String::from_utf8(live.stdout)?, calc_module(&server)?);
    // A file that is not a schema is an error the user can act on, not a module.
    std::fs::write(&file, b"{\"protocol\": 1}")?;
    let bad = Command::new(&rpc)
        .args(["gen", "python", "--from-schema"])
        .arg(&file)
        .output()?;
    assert!(!bad.status.success() && bad.stdout.is_empty());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("cannot read the schema"));
    Ok(())
}

/// Lists of records and unit messages, and names that clash with Python: keywords,
/// builtins, digits, quotes and newlines; the module must still compile and type-check, and
/// pack and unpack as the Rust side does.
#[test]
fn lists_units_and_hostile_names_make_a_valid_module() -> TestResult {
    let notes = DescribeDoc::new(1, &[&NotesClient::SCHEMA])?.to_json();
    let schema = Schema::parse(notes.as_bytes())?;
    let module = codegen::python(&schema)?;
    assert!(
        module.contains("def all(self, *, timeout: Optional[float] = None) -> List[PostRequest]:")
    );
    assert!(module.contains("\nAllItem = PostRequest\n"));
    assert!(module.contains("class Full(ApplicationError):"));

    let field = |name: &str, ty: &str| format!(r#"{{"name":{name:?},"type":{ty}}}"#);
    let int = r#"{"kind":"int","size":4,"signed":true}"#;
    let text = r#"{"kind":"text","size":8}"#;
    let enum_ty = r#"{"kind":"enum","name":"None","size":1,"signed":false,"variants":[{"name":"value","value":1},{"name":"_x","value":2}]}"#;
    let fields = [
        field("class", int),
        field("0", int),
        field("list", text),
        field("a'b\n\"\"\"import os", int),
        field("timeout", enum_ty),
        field(
            "self",
            r#"{"kind":"array","count":2,"element":{"kind":"bool"}}"#,
        ),
        field("pad", r#"{"kind":"padding","size":3}"#),
        field("ImportRequest", r#"{"kind":"int","size":1,"signed":false}"#),
    ]
    .join(",");
    let hostile = format!(
        r#"{{"protocol":1,"services":[{{"service":"my-Service\n","methods":[{{"name":"import","id":7,"fingerprint":9,"read_only":false,
          "request":{{"kind":"record","format":"!ii8siB2?3xB","size":27,"order":"!","type":{{"kind":"record","fields":[{fields}]}}}},
          "response":{{"kind":"record","format":"!B","size":1,"order":"!","type":{enum_ty}}},
          "error":{{"kind":"record","format":"!i","size":4,"order":"!","type":{int}}}}},
          {{"name":"wait","id":8,"fingerprint":10,"read_only":false,"request":{{"kind":"unit"}},"response":{{"kind":"unit"}},"error":{{"kind":"unit"}}}}]}}]}}"#
    );
    let hostile = codegen::python(&Schema::parse(hostile.as_bytes())?)?;
    for expected in [
        "    def import_(\n        self,\n        class_: int,\n        _0: int,\n        list: str,\n        \
         a_u0027b_u000a_u0022_u0022_u0022import_u0020os: int,\n        timeout_: None_,\n        \
         self_: List[bool],\n        ImportRequest: int,\n        *,\n        \
         timeout: Optional[float] = None,\n    ) -> None_:\n",
        "    value_ = 1\n    V_x = 2\n",
        "    timeout: None_\n",
        "    ImportRequest_: int\n",
        "class ImportFailed(ApplicationError):",
        // `wait` is the pipeline's own method, so the RPC's must not replace it.
        "    def wait_(self, *, timeout: Optional[float] = None) -> None:",
    ] {
        assert!(hostile.contains(expected), "{expected} not in:\n{hostile}");
    }
    // A format that does not match its type tree is refused, not generated.
    let mismatch = r#"{"protocol":1,"services":[{"service":"S","methods":[{"name":"m","id":1,"fingerprint":1,"read_only":false,
      "request":{"kind":"record","format":"!i","size":4,"order":"!","type":{"kind":"float","size":4}},
      "response":{"kind":"unit"},"error":{"kind":"unit"}}]}]}"#;
    let refused = codegen::python(&Schema::parse(mismatch.as_bytes())?);
    assert!(
        refused.is_ok(),
        "same value count: a float read as an int is still one value"
    );
    let short = mismatch.replace(r#""format":"!i""#, r#""format":"!4x""#);
    let err = codegen::python(&Schema::parse(short.as_bytes())?).unwrap_err();
    assert!(err.to_string().contains("has 0 values"), "{err}");

    let Some(python) = tool("python3") else {
        return Ok(());
    };
    let dir = tempfile::tempdir()?;
    for (name, module) in [("notes", &module), ("hostile", &hostile)] {
        let path = dir.path().join(format!("{name}.py"));
        std::fs::write(&path, module)?;
        check_module(&python, &path);
    }
    let script = r#"
import struct
import notes, hostile
items = [notes.AllItem(1, 'héllo'), notes.AllItem(2, '')]
data = notes._pack_list(notes._S0, notes._C0, notes.AllItem._flat, items, 'x')
assert data == struct.pack('!I', 2) + struct.pack('!I12s', 1, 'héllo'.encode()) + struct.pack('!I12s', 2, b'')
assert notes._unpack_list(notes._S0, notes._C0, notes.AllItem._from, data, 'x') == items
for bad in (data[:-1], struct.pack('!I', 3) + data[4:]):
    try:
        notes._unpack_list(notes._S0, notes._C0, notes.AllItem._from, bad, 'x')
        raise SystemExit('accepted a short list')
    except notes.WireError:
        pass
try:
    notes.AllItem(1, 'x' * 13).pack()
    raise SystemExit('accepted a long text')
except notes.WireError as e:
    assert 'PostRequest.text' in str(e), e
try:
    notes.AllItem.unpack(struct.pack('!I12s', 1, b'ab\0c'))
    raise SystemExit('accepted bytes after the padding')
except notes.WireError:
    pass
r = hostile.ImportRequest(1, 2, 'ok', 3, hostile.None_.V_x, [True, False], 255)
raw = r.pack()
assert raw == struct.pack('!ii8siB2?3xB', 1, 2, b'ok', 3, 2, True, False, 255), raw
assert hostile.ImportRequest.unpack(raw) == r
try:
    hostile.ImportRequest.unpack(raw[:-6] + b'\x02' + raw[-5:])
    raise SystemExit('accepted a bool byte of 2')
except hostile.WireError:
    pass
print('ok')
"#;
    let out = run(Command::new(&python)
        .args(["-c", script])
        .current_dir(dir.path()));
    assert_eq!(String::from_utf8_lossy(&out.stdout), "ok\n");
    Ok(())
}

/// Starts an account server in `dir` and writes `dir/accounts.py` with the real `rpc` binary
/// from its TCP endpoint.
fn account_server_and_module(dir: &Path) -> Server {
    let server = Server::start_sqlite(dir);
    let module = run(Command::new(binary("rpc", "rpc-tool"))
        .args(["gen", "python", &server.tcp.to_string()])
        .current_dir(dir));
    std::fs::write(dir.join("accounts.py"), module.stdout).expect("write accounts.py");
    server
}

#[test]
fn generated_client_drives_the_account_server_over_tcp_and_unix() {
    let Some(python) = tool("python3") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let server = account_server_and_module(dir.path());
    check_module(&python, &dir.path().join("accounts.py"));
    let flow = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/rpc_tool_gen/flow.py");
    for (endpoint, run_id) in [(&server.tcp, "tcp"), (&server.unix, "unix")] {
        let out = run(Command::new(&python)
            .arg(&flow)
            .arg(endpoint.to_string())
            .arg(run_id)
            .env("PYTHONPATH", dir.path())
            .env("PYTHONDONTWRITEBYTECODE", "1"));
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(stdout.ends_with("ok\n"), "{endpoint}: {stdout}");
        for step in [
            "opened and logged in",
            "deposit and transfer",
            "history in 4 pages",
            "typed errors",
            "pipelined batch",
            "deadline exceeded",
        ] {
            assert!(
                stdout.contains(step),
                "{endpoint}: no `{step}` in:\n{stdout}"
            );
        }
    }
    server.stop();
}

/// The text between `<!-- NAME: start -->` and `<!-- NAME: end -->` in `markdown`, without
/// the code fence around it.
fn marked_block(markdown: &str, name: &str) -> String {
    let start = format!("<!-- {name}: start -->");
    let end = format!("<!-- {name}: end -->");
    let from = markdown.find(&start).expect("the start marker") + start.len();
    let to = from + markdown[from..].find(&end).expect("the end marker");
    let block = markdown[from..to].trim();
    let body = block
        .strip_prefix("```python\n")
        .and_then(|b| b.strip_suffix("```"))
        .expect("a ```python block between the markers");
    body.to_owned()
}

#[test]
fn readme_python_script_moves_money() {
    let Some(python) = tool("python3") else {
        return;
    };
    let readme =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../README.md"))
            .expect("README.md");
    let script = marked_block(&readme, "move_money.py");
    assert_eq!(script.lines().count(), 10, "the README promises ten lines");
    assert!(readme.contains("cargo run --release --bin account-server\n"));
    assert!(readme.contains(
        "cargo run --release --bin rpc -- gen python tcp://127.0.0.1:7878 > accounts.py\n"
    ));
    let dir = tempfile::tempdir().unwrap();
    let server = account_server_and_module(dir.path());
    std::fs::write(dir.path().join("move_money.py"), &script).unwrap();
    let out = run(Command::new(&python)
        .arg("move_money.py")
        .env("ACCOUNTS", server.tcp.to_string())
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .current_dir(dir.path()));
    let expected = "balance after the transfer: 7500\nrefused: InsufficientFunds\n";
    assert_eq!(String::from_utf8_lossy(&out.stdout), expected);
    assert!(
        readme.contains(&format!("```text\n{expected}```")),
        "the README shows what the script prints"
    );
    server.stop();
}
