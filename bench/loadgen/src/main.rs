//! `loadgen`: the bench's load generator (see the crate docs).
//!
//! ```text
//! loadgen run   --url http://127.0.0.1:8000 --user alice:alice-pass [--sockets 10000]
//!               [--uploads 50] [--rates 2,5,10] [--step 2s] [--window 30s] [--pid SERVER_PID]...
//! loadgen storm --url http://127.0.0.1:8000 --user alice:alice-pass [--sockets 10000] [--no-jitter]
//! ```
//!
//! Progress goes to stderr; the result is one JSON line on stdout. `storm`
//! prints `READY` on stdout once every socket is open: restart the server then.

use std::io::Write;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};
use quizpulse_loadgen::run::{Plan, run};
use quizpulse_loadgen::storm::{StormPlan, storm};
use quizpulse_loadgen::target::{Credential, Target};
use quizpulse_loadgen::{Error, sign_in_all, sys};

#[derive(Parser)]
#[command(
    name = "loadgen",
    about = "Load generator for QuizPulse contract servers (loopback only)"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Args)]
struct Common {
    /// The server's base URL, e.g. http://127.0.0.1:8000 (loopback only). Repeat
    /// for processes sharing a broker: sockets alternate, REST goes to the first.
    #[arg(long = "url", required = true)]
    urls: Vec<String>,
    /// USER:PASSWORD to sign in with; repeat for more users (sockets use them in turn).
    #[arg(long = "user", required = true)]
    users: Vec<Credential>,
    /// Sockets to open.
    #[arg(long, default_value_t = 10_000)]
    sockets: usize,
    /// Worker threads of this process's runtime.
    #[arg(long, default_value_t = 1)]
    threads: usize,
}

#[derive(Subcommand)]
enum Command {
    /// Memory per socket, fan-out latency, sustained deliveries per second.
    Run {
        #[command(flatten)]
        common: Common,
        /// Sequential uploads timed for the fan-out figure.
        #[arg(long, default_value_t = 50)]
        uploads: usize,
        /// Upload rates per second to try in turn (empty: skip the sustained figure).
        #[arg(long, value_delimiter = ',', default_value = "")]
        rates: Vec<String>,
        /// How long each rate is held (e.g. 2s).
        #[arg(long, default_value = "2s", value_parser = seconds)]
        step: Duration,
        /// The sustained figure stops once an upload's p99 passes this many ms.
        #[arg(long, default_value_t = 100)]
        p99_limit_ms: u64,
        /// The quiz every socket follows and every upload goes to.
        #[arg(long, default_value = "quadratics")]
        quiz: String,
        /// A server process whose memory is read before and after connecting (repeatable).
        #[arg(long = "pid")]
        pids: Vec<u32>,
        /// Threads reading the sockets (each an epoll loop over its share).
        #[arg(long, default_value_t = 2)]
        readers: usize,
        /// Delivery window per upload (e.g. 30s): what has not reached a socket
        /// by then counts as missed, and an unanswered POST is not an error.
        #[arg(long, default_value = "30s", value_parser = seconds)]
        window: Duration,
    },
    /// Reconnect storm while the server restarts (prints READY when it may).
    Storm {
        #[command(flatten)]
        common: Common,
        /// Every delay at its ceiling instead of the core's full jitter.
        #[arg(long)]
        no_jitter: bool,
        /// Longest wait for each phase, in seconds.
        #[arg(long, default_value = "60s", value_parser = seconds)]
        timeout: Duration,
    },
}

fn seconds(text: &str) -> Result<Duration, String> {
    let number = text.strip_suffix('s').unwrap_or(text);
    number
        .parse::<f64>()
        .ok()
        .and_then(|s| Duration::try_from_secs_f64(s).ok())
        .ok_or_else(|| format!("{text:?} is not a number of seconds (e.g. 2s)"))
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let common = match &cli.command {
        Command::Run { common, .. } | Command::Storm { common, .. } => common,
    };
    match sys::raise_nofile() {
        Ok(limit) if (limit as usize) < common.sockets + 64 => {
            eprintln!(
                "loadgen: open-file limit {limit} is too low for {} sockets",
                common.sockets
            );
            return ExitCode::FAILURE;
        }
        Ok(_) => {}
        Err(e) => eprintln!("loadgen: could not raise the open-file limit: {e}"),
    }
    let runtime = if common.threads <= 1 {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
    } else {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(common.threads)
            .enable_all()
            .build()
    };
    let runtime = match runtime {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("loadgen: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(execute(cli.command)) {
        Ok(result) => {
            println!("{result}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("loadgen: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn execute(command: Command) -> Result<serde_json::Value, Error> {
    match command {
        Command::Run {
            common,
            uploads,
            rates,
            step,
            p99_limit_ms,
            quiz,
            pids,
            readers,
            window,
        } => {
            let targets = common
                .urls
                .iter()
                .map(|url| Target::new(url))
                .collect::<Result<Vec<_>, _>>()?;
            let tokens = sign_in_all(&targets[0], &common.users).await?;
            let rates = rates
                .iter()
                .filter(|r| !r.trim().is_empty())
                .map(|r| {
                    r.trim()
                        .parse::<f64>()
                        .map_err(|_| Error::Usage(format!("rate {r:?} is not a number")))
                })
                .collect::<Result<Vec<_>, _>>()?;
            let plan = Plan {
                sockets: common.sockets,
                uploads,
                rates,
                step,
                p99_limit: Duration::from_millis(p99_limit_ms),
                quiz,
                pids,
                readers,
                window,
            };
            run(&targets, &tokens, &plan).await
        }
        Command::Storm {
            common,
            no_jitter,
            timeout,
        } => {
            let target = Target::new(&common.urls[0])?;
            let tokens = sign_in_all(&target, &common.users).await?;
            let plan = StormPlan {
                sockets: common.sockets,
                jitter: !no_jitter,
                timeout,
                seed: 7,
            };
            storm(&target, &tokens, &plan, || {
                println!("READY");
                let _ = std::io::stdout().flush();
            })
            .await
        }
    }
}
