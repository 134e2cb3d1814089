//! `rpc`: describe, call and ping rpc-runtime servers, and generate Python clients.
//!
//! ```sh
//! rpc describe tcp://127.0.0.1:7878
//! rpc call tcp://127.0.0.1:7979 Calc.add '{"a": "2", "b": 40}'
//! rpc ping -c 5 unix://./calc.sock
//! rpc gen python tcp://127.0.0.1:7878 > accounts.py
//! ```

use clap::{Parser, Subcommand};
use rpc_runtime::Endpoint;
use rpc_tool::call;
use rpc_tool::conn::Connection;
use rpc_tool::schema::Schema;
use rpc_tool::{ToolError, ping, table};
use std::io::{Read as _, Write as _};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

/// Talk to any rpc-runtime server from the shell.
#[derive(Debug, Parser)]
#[command(name = "rpc", version)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// List the services, methods, ids and message shapes a server serves.
    Describe {
        /// tcp://HOST:PORT or unix://PATH.
        endpoint: Endpoint,
        /// Print the raw describe document instead of a table.
        #[arg(long)]
        json: bool,
        /// Seconds to wait for the connection and the reply.
        #[arg(long, default_value_t = 10.0, value_parser = seconds)]
        timeout: f64,
    },
    /// Call a method with a JSON request and print the reply as JSON.
    ///
    /// Exit codes: 0 ok, 1 the service's own error, 2 bad command line or input, 10 + the
    /// status code for runtime failures (13 deadline exceeded, 14 unknown method, 15 bad
    /// request, 16 resource exhausted, 17 unavailable, 18 internal, 19 schema mismatch).
    Call {
        /// tcp://HOST:PORT or unix://PATH.
        endpoint: Endpoint,
        /// `Service.method` (or just `method` when one service has it).
        method: String,
        /// The request as JSON; read from standard input when absent or `-`.
        request: Option<String>,
        /// Seconds the call may take; sent to the server as the call's deadline.
        #[arg(long, default_value_t = 10.0, value_parser = seconds)]
        timeout: f64,
        /// Show both frames as annotated hex dumps on standard error.
        #[arg(long)]
        hex: bool,
    },
    /// Generate a client from a server's schema.
    Gen {
        #[command(subcommand)]
        language: Language,
    },
    /// Measure round-trip times with Ping frames.
    Ping {
        /// tcp://HOST:PORT or unix://PATH.
        endpoint: Endpoint,
        /// Number of pings.
        #[arg(short, long, default_value_t = 4)]
        count: usize,
        /// Seconds between pings.
        #[arg(short, long, default_value_t = 1.0, value_parser = seconds)]
        interval: f64,
        /// Seconds to wait for each pong.
        #[arg(long, default_value_t = 5.0, value_parser = seconds)]
        timeout: f64,
    },
}

#[derive(Debug, Subcommand)]
enum Language {
    /// A single-file Python 3 module using only the standard library, written to stdout.
    Python {
        /// tcp://HOST:PORT or unix://PATH of a running server.
        #[arg(
            required_unless_present = "from_schema",
            conflicts_with = "from_schema"
        )]
        endpoint: Option<Endpoint>,
        /// Read the schema from FILE (what `rpc describe --json` prints) instead of a server.
        #[arg(long, value_name = "FILE")]
        from_schema: Option<PathBuf>,
        /// Seconds to wait for the connection and the schema.
        #[arg(long, default_value_t = 10.0, value_parser = seconds)]
        timeout: f64,
    },
}

fn seconds(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(v) if v.is_finite() && (0.0..=86_400.0).contains(&v) => Ok(v),
        _ => Err(format!(
            "{s:?} is not a number of seconds between 0 and 86400"
        )),
    }
}

fn duration(secs: f64) -> Duration {
    Duration::from_secs_f64(secs).max(Duration::from_millis(1))
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli.command) {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            eprintln!("rpc: {e}");
            ExitCode::from(call::error_exit_code(&e))
        }
    }
}

fn run(command: Command) -> Result<u8, ToolError> {
    let mut stdout = std::io::stdout().lock();
    match command {
        Command::Describe {
            endpoint,
            json,
            timeout,
        } => {
            let mut conn = Connection::connect(&endpoint, duration(timeout))?;
            let (schema, raw) = Schema::fetch(&mut conn)?;
            if json {
                let value: serde_json::Value =
                    serde_json::from_slice(&raw).map_err(|e| ToolError::Schema(e.to_string()))?;
                let _ = writeln!(stdout, "{value:#}");
            } else {
                let _ = write!(stdout, "{}", table::render(&schema));
            }
            Ok(0)
        }
        Command::Call {
            endpoint,
            method,
            request,
            timeout,
            hex,
        } => {
            let request = match request.as_deref() {
                None | Some("-") => {
                    let mut buf = Vec::new();
                    std::io::stdin()
                        .read_to_end(&mut buf)
                        .map_err(|source| ToolError::Read {
                            what: "the request from standard input".into(),
                            source,
                        })?;
                    buf
                }
                Some(text) => text.as_bytes().to_vec(),
            };
            let mut conn = Connection::connect(&endpoint, duration(timeout))?;
            let (schema, _) = Schema::fetch(&mut conn)?;
            let outcome = call::call(&mut conn, &schema, &method, &request, hex)?;
            if hex {
                eprint!("{}", outcome.hex);
            }
            let _ = writeln!(stdout, "{:#}", outcome.reply);
            Ok(outcome.exit_code())
        }
        Command::Gen {
            language:
                Language::Python {
                    endpoint,
                    from_schema,
                    timeout,
                },
        } => {
            let schema = match (endpoint, from_schema) {
                (_, Some(path)) => {
                    let bytes = std::fs::read(&path).map_err(|source| ToolError::Read {
                        what: path.display().to_string(),
                        source,
                    })?;
                    Schema::parse(&bytes)?
                }
                (Some(endpoint), None) => {
                    let mut conn = Connection::connect(&endpoint, duration(timeout))?;
                    Schema::fetch(&mut conn)?.0
                }
                (None, None) => {
                    return Err(ToolError::Schema(
                        "give the server's endpoint or --from-schema FILE".into(),
                    ));
                }
            };
            let module = rpc_tool::codegen::python(&schema)?;
            let _ = stdout.write_all(module.as_bytes());
            Ok(0)
        }
        Command::Ping {
            endpoint,
            count,
            interval,
            timeout,
        } => {
            let mut conn = Connection::connect(&endpoint, duration(timeout))?;
            let _ = writeln!(stdout, "PING {endpoint}");
            let mut rtts = Vec::new();
            for seq in 1..=count {
                match ping::once(&mut conn) {
                    Ok(rtt) => {
                        let _ = writeln!(
                            stdout,
                            "pong from {endpoint}: seq={seq} time={:.3} ms",
                            rtt.as_secs_f64() * 1000.0
                        );
                        rtts.push(rtt);
                    }
                    Err(ToolError::Timeout { .. }) => {
                        let _ = writeln!(stdout, "no pong for seq={seq}");
                        // The late pong may still come; a fresh connection keeps ids apart.
                        conn = Connection::connect(&endpoint, duration(timeout))?;
                    }
                    Err(e) => return Err(e),
                }
                if seq < count {
                    std::thread::sleep(Duration::from_secs_f64(interval));
                }
            }
            let _ = writeln!(stdout, "--- {endpoint} rpc ping statistics ---");
            match ping::Summary::new(count, &rtts) {
                Some(summary) => {
                    let _ = writeln!(stdout, "{summary}");
                    Ok(0)
                }
                None => {
                    let _ = writeln!(stdout, "{count} pings sent, 0 pongs received, 100% lost");
                    Ok(call::exit_code(rpc_runtime::Status::Unavailable))
                }
            }
        }
    }
}
