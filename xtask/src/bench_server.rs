//! `cargo xtask bench`, the server figures (issue 9): our server and a Django
//! Channels peer (`bench/peers/django`) under the same load generator
//! (`bench/loadgen`) in the same run, everything on 127.0.0.1.
//!
//! 1. Fan-out: 10 000 sockets following one quiz; p50/p99 from an upload to the
//!    last socket's `quiz_leaderboard_updated` over 50 uploads; server memory per
//!    idle socket; sustained deliveries/s at a rising upload rate until p99 passes
//!    100 ms or a socket misses a message. The same on Django (InMemoryChannelLayer).
//! 2. Fan-out latency against the socket count, both servers: `bench/fanout.svg`.
//! 3. Two processes behind Redis (Django: channels_redis; ours: `--broker`, when
//!    the server has it), sockets split over both, uploads through the first.
//! 4. Reconnect storm: the server restarts under 10 000 sockets that come back on
//!    the core's backoff, with jitter and without.
//!
//! Every server and the generator run as child processes with a time limit; the
//! Python packages are installed into `target/bench-venv` on first use.

use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use serde_json::Value;

use crate::bench_chart::{self, Series};
use crate::util::{cargo, display, note, output_of, root, step, target_dir, today_utc, which};

/// Sockets of the headline figures (`QUIZPULSE_BENCH_SOCKETS` overrides it,
/// e.g. for a quick run; the chart uses a tenth, a quarter and half of it).
fn sockets() -> usize {
    std::env::var("QUIZPULSE_BENCH_SOCKETS")
        .ok()
        .and_then(|v| v.parse().ok())
        .filter(|&n| n >= 10)
        .unwrap_or(10_000)
}
/// Uploads timed for the headline fan-out.
const UPLOADS: usize = 50;
/// Socket counts of the chart (the headline run gives the last point).
fn chart_sockets() -> [usize; 3] {
    let n = sockets();
    [n / 10, n / 4, n / 2]
}
/// The sustained figure's p99 limit (the generator's default `--p99-limit-ms`).
const P99_LIMIT_MS: f64 = 100.0;
/// Upload rates (per second) tried in turn for the sustained figure.
const RATES: &str = "2,4,6,8,10,12,15,20,25,30,40,50";
/// Longest any one generator run against our server may take.
const RUN_LIMIT: Duration = Duration::from_secs(240);
/// Delivery window of each upload to our server: what has not reached a
/// socket by then counts as missed.
const WINDOW_S: u64 = 30;
/// Uploads timed on the Django peer at each socket count: at 10 000 sockets
/// each takes it the whole delivery window, so fewer.
const DJANGO_UPLOADS: usize = 3;
/// The peer's delivery window per upload: Channels' own message expiry (60 s
/// by default, both layers). A message still queued after it is dropped by
/// the layer, and its consumer with it from every group.
const DJANGO_WINDOW_S: u64 = 60;
/// Longest a generator run against the peer may take: connecting (daphne
/// accepts 10 000 sockets in minutes), then each upload's window and the
/// generator's wait (up to a minute) for the peer's backlog to end.
fn django_run_limit(uploads: usize) -> Duration {
    Duration::from_secs(300 + uploads as u64 * (DJANGO_WINDOW_S + 70))
}
/// Longest wait for a server to go idle between two measurements.
const SETTLE_LIMIT: Duration = Duration::from_secs(180);

/// A child process stopped (TERM, then KILL) when dropped.
struct Proc {
    child: Child,
    name: &'static str,
}

impl Proc {
    fn pid(&self) -> u32 {
        self.child.id()
    }

    /// SIGTERM, then waits up to `grace` before SIGKILL.
    fn stop(&mut self, grace: Duration) {
        if matches!(self.child.try_wait(), Ok(Some(_))) {
            return;
        }
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let deadline = Instant::now() + grace;
        while Instant::now() < deadline {
            if matches!(self.child.try_wait(), Ok(Some(_))) {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        note(format!(
            "{} did not stop in {grace:?}: killing it",
            self.name
        ));
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        self.stop(Duration::from_secs(10));
    }
}

fn free_port() -> Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// Waits until something accepts on `port`.
fn wait_listening(port: u16, proc: &mut Proc, limit: Duration) -> Result<()> {
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return Ok(());
        }
        if let Ok(Some(status)) = proc.child.try_wait() {
            bail!("{} exited early ({status})", proc.name);
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    bail!("{} did not listen on {port} within {limit:?}", proc.name)
}

fn release_bin(name: &str) -> PathBuf {
    target_dir().join("release").join(name)
}

/// Our server on `port` over `db`, demo data, no simulator, long-lived tokens.
fn start_ours(port: u16, db: &Path, broker: Option<&str>) -> Result<Proc> {
    start_ours_on(port, &format!("sqlite://{}", db.display()), broker)
}

/// The quotas of our server in the bench: one account and one address hold
/// every socket and make every upload, so each limit is far above the load,
/// but each is still checked (what the checks cost is in the figures).
pub const BENCH_LIMITS: [&str; 12] = [
    "--max-sockets-per-user",
    "1000000",
    "--max-sockets-per-address",
    "1000000",
    "--max-sockets",
    "1000000",
    "--upload-rate",
    "1000000/s",
    "--sign-in-rate",
    "1000000/s",
    "--sign-in-failures",
    "1000000/s",
];

/// Our server on `port` over the database at `db_url`.
fn start_ours_on(port: u16, db_url: &str, broker: Option<&str>) -> Result<Proc> {
    let mut cmd = Command::new(release_bin("quizpulse-server"));
    cmd.args(["serve", "--bind", &format!("127.0.0.1:{port}")])
        .args(["--db", db_url])
        .args(["--demo", "--simulate-every", "0", "--access-ttl", "2h"])
        .args(["--jwt-secret", "quizpulse-bench-secret-8c41e7a05d92b36f"])
        .args(BENCH_LIMITS)
        .env("RUST_LOG", "warn")
        .stdin(Stdio::null())
        .stdout(Stdio::null());
    if let Some(broker) = broker {
        cmd.args(["--broker", broker]);
    }
    let mut proc = Proc {
        child: cmd
            .spawn()
            .with_context(|| format!("starting {}", display(&cmd)))?,
        name: "quizpulse-server",
    };
    wait_listening(port, &mut proc, Duration::from_secs(60))?;
    Ok(proc)
}

fn venv() -> PathBuf {
    target_dir().join("bench-venv")
}

fn peer_dir() -> PathBuf {
    root().join("bench").join("peers").join("django")
}

/// The peer's virtualenv, (re)installed when its requirements changed.
fn ensure_venv() -> Result<PathBuf> {
    let venv = venv();
    let python = venv.join("bin").join("python");
    let requirements = peer_dir().join("requirements.txt");
    let wanted = std::fs::read_to_string(&requirements)?;
    let stamp = venv.join("requirements.stamp");
    if python.exists() && std::fs::read_to_string(&stamp).is_ok_and(|s| s == wanted) {
        return Ok(python);
    }
    let system = which("python3").context("python3 is needed for the Django peer")?;
    step("bench: installing the Django Channels peer's packages into target/bench-venv (PyPI)");
    crate::util::run(Command::new(system).arg("-m").arg("venv").arg(&venv))?;
    crate::util::run(
        Command::new(&python)
            .args(["-m", "pip", "install", "--quiet", "-r"])
            .arg(&requirements),
    )?;
    std::fs::write(&stamp, wanted)?;
    Ok(python)
}

/// The peer's package versions, for the report.
fn peer_versions(python: &Path) -> String {
    output_of(Command::new(python).args([
        "-c",
        "import django, channels, daphne, channels_redis, sys; \
         print(f'Python {sys.version.split()[0]}, Django {django.__version__}, \
         Channels {channels.__version__}, Daphne {daphne.__version__}, \
         channels_redis {channels_redis.__version__}')",
    ]))
    .unwrap_or_else(|| "versions unknown".into())
}

/// Migrates and seeds the peer's database.
fn prepare_django(python: &Path, db: &Path) -> Result<()> {
    for args in [
        &["manage.py", "migrate", "--run-syncdb", "-v", "0"][..],
        &["manage.py", "seed_bench", "--users", "1"][..],
    ] {
        crate::util::run(
            Command::new(python)
                .args(args)
                .current_dir(peer_dir())
                .env("PEER_DB", db)
                .stdout(Stdio::null()),
        )?;
    }
    Ok(())
}

/// One daphne process of the peer on `port`.
fn start_django(python: &Path, port: u16, db: &Path, redis: Option<&str>) -> Result<Proc> {
    let daphne = python.with_file_name("daphne");
    let mut cmd = Command::new(daphne);
    // A slow machine must not turn a late handshake into a refusal (403).
    cmd.args(["-v", "0", "--websocket_connect_timeout", "120"])
        .args(["-b", "127.0.0.1", "-p", &port.to_string()])
        .arg("peer.asgi:application")
        .current_dir(peer_dir())
        .env("PEER_DB", db)
        .env(
            "PEER_LAYER",
            if redis.is_some() { "redis" } else { "memory" },
        )
        .stdin(Stdio::null())
        .stdout(Stdio::null());
    if let Some(url) = redis {
        cmd.env("PEER_REDIS", url);
    }
    let mut proc = Proc {
        child: cmd
            .spawn()
            .with_context(|| format!("starting {}", display(&cmd)))?,
        name: "daphne",
    };
    wait_listening(port, &mut proc, Duration::from_secs(60))?;
    Ok(proc)
}

fn start_redis(port: u16) -> Result<Proc> {
    let server =
        which("redis-server").context("redis-server is needed (apt-get install redis-server)")?;
    let mut cmd = Command::new(server);
    cmd.args([
        "--port",
        &port.to_string(),
        "--bind",
        "127.0.0.1",
        "--save",
        "",
    ])
    .args(["--appendonly", "no", "--maxclients", "20000"])
    .stdin(Stdio::null())
    .stdout(Stdio::null());
    let mut proc = Proc {
        child: cmd.spawn()?,
        name: "redis-server",
    };
    wait_listening(port, &mut proc, Duration::from_secs(20))?;
    Ok(proc)
}

/// CPU seconds (user + system) a process has used, from `/proc/PID/stat`.
fn cpu_seconds(pid: u32) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    let ticks: f64 = fields.get(11)?.parse::<f64>().ok()? + fields.get(12)?.parse::<f64>().ok()?;
    // USER_HZ is 100 on Linux.
    Some(ticks / 100.0)
}

/// Waits until `pids` use under 5 % of a core over a second (up to
/// [`SETTLE_LIMIT`]): a backlog (queued deliveries, sockets being closed)
/// must not spill into the next measurement.
fn settle(pids: &[u32]) {
    let total = || pids.iter().filter_map(|&p| cpu_seconds(p)).sum::<f64>();
    let started = Instant::now();
    let mut last = total();
    loop {
        std::thread::sleep(Duration::from_secs(1));
        let now = total();
        if now - last < 0.05 {
            note(format!(
                "settled after {:.0} s",
                started.elapsed().as_secs_f64()
            ));
            return;
        }
        last = now;
        if started.elapsed() > SETTLE_LIMIT {
            note(format!("still busy after {SETTLE_LIMIT:?}: going on"));
            return;
        }
    }
}

/// The machine's 1-minute load average.
fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|l| l.split_whitespace().next().map(str::to_owned))
        .unwrap_or_else(|| "?".into())
}

/// A throwaway PostgreSQL cluster (figure 3: `--broker` needs a database
/// the instances share), stopped when dropped.
struct Postgres {
    data: PathBuf,
    as_postgres: bool,
    port: u16,
}

impl Postgres {
    fn pg_ctl(&self) -> Command {
        let pg_ctl = which("pg_ctl").unwrap_or_else(|| PathBuf::from("pg_ctl"));
        if self.as_postgres {
            let mut cmd = Command::new("runuser");
            cmd.args(["-u", "postgres", "--"]).arg(pg_ctl);
            cmd
        } else {
            Command::new(pg_ctl)
        }
    }

    fn start(dir: &Path) -> Result<Self> {
        let as_postgres =
            output_of(Command::new("id").arg("-u")).is_some_and(|id| id.trim() == "0");
        let root = dir.join("pg");
        std::fs::create_dir_all(&root)?;
        if as_postgres {
            crate::util::run(Command::new("chown").arg("postgres:").arg(&root))?;
        }
        let pg = Self {
            data: root.join("data"),
            as_postgres,
            port: free_port()?,
        };
        let initdb =
            which("initdb").context("PostgreSQL is needed for figure 3 (cargo xtask setup)")?;
        let mut cmd = if as_postgres {
            let mut cmd = Command::new("runuser");
            cmd.args(["-u", "postgres", "--"]).arg(initdb);
            cmd
        } else {
            Command::new(initdb)
        };
        crate::util::run(
            cmd.arg("-D")
                .arg(&pg.data)
                .args(["-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync"])
                .stdout(Stdio::null()),
        )?;
        let options = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=300",
            pg.port,
            root.display()
        );
        crate::util::run(
            pg.pg_ctl()
                .args(["-w", "-D"])
                .arg(&pg.data)
                .arg("-l")
                .arg(root.join("log"))
                .args(["-o", &options, "start"])
                .stdout(Stdio::null()),
        )?;
        Ok(pg)
    }

    fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        let _ = self
            .pg_ctl()
            .args(["-D"])
            .arg(&self.data)
            .args(["-m", "fast", "stop"])
            .stdout(Stdio::null())
            .status();
    }
}

/// Runs the generator to its end (within `limit`) and returns its JSON result.
fn loadgen(args: &[String], limit: Duration) -> Result<Value> {
    let mut cmd = Command::new(release_bin("loadgen"));
    cmd.args(args).stdin(Stdio::null()).stdout(Stdio::piped());
    note(format!("$ {}", display(&cmd)));
    let mut child = cmd.spawn().context("starting loadgen")?;
    let lines = read_lines(&mut child);
    let deadline = Instant::now() + limit;
    loop {
        match lines.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
            Ok(line) if line.starts_with('{') => {
                let _ = child.wait();
                return serde_json::from_str(&line).context("loadgen printed bad JSON");
            }
            Ok(_) => {}
            Err(mpsc::RecvTimeoutError::Timeout) => {
                let _ = child.kill();
                let _ = child.wait();
                bail!("loadgen ran past {limit:?}");
            }
            Err(mpsc::RecvTimeoutError::Disconnected) => {
                let status = child.wait()?;
                bail!("loadgen failed ({status})");
            }
        }
    }
}

fn read_lines(child: &mut Child) -> mpsc::Receiver<String> {
    let (tx, rx) = mpsc::channel();
    if let Some(out) = child.stdout.take() {
        std::thread::spawn(move || {
            for line in BufReader::new(out).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
    }
    rx
}

fn run_args(
    urls: &[String],
    user: &str,
    sockets: usize,
    uploads: usize,
    rates: &str,
    pids: &[u32],
    window_s: u64,
) -> Vec<String> {
    let mut args = vec![
        "run".to_owned(),
        "--window".to_owned(),
        format!("{window_s}s"),
    ];
    for url in urls {
        args.extend(["--url".to_owned(), url.clone()]);
    }
    args.extend(["--user".to_owned(), user.to_owned()]);
    args.extend(["--sockets".to_owned(), sockets.to_string()]);
    args.extend(["--uploads".to_owned(), uploads.to_string()]);
    args.extend(["--rates".to_owned(), rates.to_owned()]);
    for pid in pids {
        args.extend(["--pid".to_owned(), pid.to_string()]);
    }
    args
}

const OURS_USER: &str = "alice:alice-pass";
const DJANGO_USER: &str = "bench0:bench0";

/// Everything measured on one server kind.
struct Measured {
    headline: Value,
    chart: Vec<(usize, Value)>,
}

fn measure_ours(dir: &Path) -> Result<Measured> {
    step("bench: our server");
    let port = free_port()?;
    let server = start_ours(port, &dir.join("ours.db"), None)?;
    let url = vec![format!("http://127.0.0.1:{port}")];
    let headline = loadgen(
        &run_args(
            &url,
            OURS_USER,
            sockets(),
            UPLOADS,
            RATES,
            &[server.pid()],
            WINDOW_S,
        ),
        RUN_LIMIT,
    )?;
    let mut chart = Vec::new();
    for n in chart_sockets() {
        settle(&[server.pid()]);
        chart.push((
            n,
            loadgen(
                &run_args(&url, OURS_USER, n, 10, "", &[], WINDOW_S),
                RUN_LIMIT,
            )?,
        ));
    }
    chart.push((sockets(), headline.clone()));
    drop(server);
    Ok(Measured { headline, chart })
}

/// Figures 1–2 on the peer, at the same socket counts as ours, each point on
/// a fresh daphne (a killed process leaves no backlog, where waiting for one
/// to drain takes minutes). A point the peer could not deliver (connect or
/// run past its limit) is recorded in `failures` and left out, without
/// losing the others.
fn measure_django(python: &Path, dir: &Path, failures: &mut Vec<String>) -> Result<Measured> {
    step("bench: the Django Channels peer (daphne, InMemoryChannelLayer)");
    let db = dir.join("django.sqlite3");
    prepare_django(python, &db)?;
    let mut point = |n: usize, what: &str| {
        let result = (|| -> Result<Value> {
            let port = free_port()?;
            let server = start_django(python, port, &db, None)?;
            let url = vec![format!("http://127.0.0.1:{port}")];
            loadgen(
                &run_args(
                    &url,
                    DJANGO_USER,
                    n,
                    DJANGO_UPLOADS,
                    "",
                    &[server.pid()],
                    DJANGO_WINDOW_S,
                ),
                django_run_limit(DJANGO_UPLOADS),
            )
        })();
        result.unwrap_or_else(|e| {
            failures.push(format!("{what}, Django Channels, {n} sockets: {e:#}"));
            Value::Null
        })
    };
    let headline = point(sockets(), "figure 1");
    let mut chart = Vec::new();
    for n in chart_sockets() {
        chart.push((n, point(n, "figure 2")));
    }
    chart.push((sockets(), headline.clone()));
    Ok(Measured { headline, chart })
}

/// Whether this build of our server has `--broker` (Redis fan-out between processes).
fn ours_has_broker() -> bool {
    output_of(Command::new(release_bin("quizpulse-server")).args(["serve", "--help"]))
        .is_some_and(|help| help.contains("--broker"))
}

/// Figure 3: two processes behind one Redis, sockets split over both.
fn measure_two(
    python: &Path,
    dir: &Path,
    failures: &mut Vec<String>,
) -> Result<Vec<(String, Value)>> {
    let redis_port = free_port()?;
    let redis = start_redis(redis_port)?;
    let redis_url = format!("redis://127.0.0.1:{redis_port}/0");
    let mut out = Vec::new();
    if ours_has_broker() {
        step("bench: two of our servers behind Redis");
        let ours = (|| -> Result<Value> {
            let pg = Postgres::start(dir)?;
            let (a, b) = (free_port()?, free_port()?);
            let one = start_ours_on(a, &pg.url(), Some(&redis_url))?;
            let two = start_ours_on(b, &pg.url(), Some(&redis_url))?;
            let urls = vec![
                format!("http://127.0.0.1:{a}"),
                format!("http://127.0.0.1:{b}"),
            ];
            let result = loadgen(
                &run_args(
                    &urls,
                    OURS_USER,
                    sockets(),
                    UPLOADS,
                    RATES,
                    &[one.pid(), two.pid()],
                    WINDOW_S,
                ),
                RUN_LIMIT,
            );
            drop((one, two, pg));
            result
        })();
        match ours {
            Ok(result) => out.push((
                format!("ours, `--broker` Redis, PostgreSQL, {} sockets", sockets()),
                result,
            )),
            Err(e) => failures.push(format!("figure 3, ours: {e:#}")),
        }
    } else {
        note("our server has no --broker in this build: figure 3 covers the Django peer only");
    }
    step("bench: two Django Channels processes behind channels_redis");
    let django = (|| -> Result<Value> {
        let db = dir.join("django-two.sqlite3");
        prepare_django(python, &db)?;
        let (a, b) = (free_port()?, free_port()?);
        let one = start_django(python, a, &db, Some(&redis_url))?;
        let two = start_django(python, b, &db, Some(&redis_url))?;
        let urls = vec![
            format!("http://127.0.0.1:{a}"),
            format!("http://127.0.0.1:{b}"),
        ];
        loadgen(
            &run_args(
                &urls,
                DJANGO_USER,
                sockets(),
                DJANGO_UPLOADS,
                "",
                &[one.pid(), two.pid()],
                DJANGO_WINDOW_S,
            ),
            django_run_limit(DJANGO_UPLOADS),
        )
    })();
    match django {
        Ok(result) => out.push((
            format!("Django Channels, channels_redis, {} sockets", sockets()),
            result,
        )),
        Err(e) => failures.push(format!("figure 3, Django Channels: {e:#}")),
    }
    drop(redis);
    Ok(out)
}

/// Figure 4: restart our server under the sockets; one storm with the core's
/// jitter, one without.
fn measure_storm(dir: &Path, jitter: bool) -> Result<Value> {
    step(format!(
        "bench: reconnect storm ({})",
        if jitter { "jitter" } else { "no jitter" }
    ));
    let db = dir.join(if jitter { "storm-j.db" } else { "storm-n.db" });
    let port = free_port()?;
    let mut server = start_ours(port, &db, None)?;
    let mut cmd = Command::new(release_bin("loadgen"));
    cmd.args([
        "storm",
        "--url",
        &format!("http://127.0.0.1:{port}"),
        "--user",
        OURS_USER,
    ])
    .args(["--sockets", &sockets().to_string()])
    .stdin(Stdio::null())
    .stdout(Stdio::piped());
    if !jitter {
        cmd.arg("--no-jitter");
    }
    note(format!("$ {}", display(&cmd)));
    let mut child = cmd.spawn().context("starting loadgen storm")?;
    let lines = read_lines(&mut child);
    let deadline = Instant::now() + RUN_LIMIT;
    let mut restarted = None;
    let result = loop {
        match lines.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
            Ok(line) if line == "READY" => {
                server.stop(Duration::from_secs(20));
                restarted = Some(start_ours(port, &db, None)?);
            }
            Ok(line) if line.starts_with('{') => break serde_json::from_str(&line)?,
            Ok(_) => {}
            Err(_) => {
                let _ = child.kill();
                let _ = child.wait();
                bail!("loadgen storm ended without a result");
            }
        }
    };
    let _ = child.wait();
    drop(restarted);
    Ok(result)
}

fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|c| {
            c.lines()
                .find_map(|l| l.strip_prefix("model name"))
                .map(|m| m.trim_start_matches([' ', '\t', ':']).to_owned())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let cores = std::thread::available_parallelism().map_or(0, usize::from);
    let mem = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|m| {
            m.lines()
                .next()
                .map(|l| l.split_whitespace().nth(1).unwrap_or("0").to_owned())
        })
        .and_then(|kb| kb.parse::<u64>().ok())
        .map_or("?".into(), |kb| {
            format!("{:.0} GiB", kb as f64 / 1_048_576.0)
        });
    let kernel = output_of(Command::new("uname").arg("-r")).unwrap_or_default();
    format!("{cores} cores ({cpu}), {mem} RAM, Linux {kernel}")
}

/// A count as the table shows it: "–" when it was not measured.
fn count(v: &Value) -> String {
    if v.is_null() {
        "–".into()
    } else {
        v.to_string()
    }
}

/// A fan-out latency cell: "> window" when the percentile is an upload that
/// had not reached every socket when its delivery window ended.
fn latency(fanout: &Value, key: &str) -> String {
    let value = &fanout[key];
    let window = fanout["window_ms"].as_f64();
    let incomplete = fanout["incomplete"].as_u64().unwrap_or(0);
    match (value.as_f64(), window) {
        (Some(v), Some(w)) if incomplete > 0 && v >= w => format!("> {w:.0}"),
        _ => f(value),
    }
}

/// The sustained figure's cell: the best qualifying rate's deliveries/s;
/// "none" when rates were tried and none qualified; for a run without rates
/// (the peer) whose single uploads already pass the p99 limit, 0, since no
/// rate of them can qualify.
fn sustained(run: &Value) -> String {
    let best = &run["sustained"]["best_deliveries_per_s"];
    let tried = run["sustained"]["steps"]
        .as_array()
        .is_some_and(|steps| !steps.is_empty());
    match run["fanout"]["p99_ms"].as_f64() {
        _ if best.is_number() => f(best),
        _ if tried => "none".to_owned(),
        Some(p99) if p99 > P99_LIMIT_MS => {
            format!(
                "0 (one upload alone: p99 {} ms)",
                latency(&run["fanout"], "p99_ms")
            )
        }
        _ => "not run".to_owned(),
    }
}

fn f(v: &Value) -> String {
    match v.as_f64() {
        Some(x) if x >= 1000.0 => format!("{x:.0}"),
        Some(x) => format!("{x:.2}"),
        None => "–".into(),
    }
}

/// Runs every figure and returns the section's Markdown (and writes the chart).
pub fn run() -> Result<String> {
    step("bench: building the server and the load generator (release)");
    crate::util::run(cargo().args([
        "build",
        "--release",
        "-p",
        "quizpulse-server",
        "-p",
        "quizpulse-loadgen",
    ]))?;
    let python = ensure_venv()?;
    let versions = peer_versions(&python);
    let dir = target_dir().join("bench-run");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir)?;
    let started = Instant::now();
    let load_before = load_average();
    let mut failures = Vec::new();

    let ours = measure_ours(&dir)?;
    // The peer's figures are recorded as failed rather than ending the run.
    let django = measure_django(&python, &dir, &mut failures).unwrap_or_else(|e| {
        failures.push(format!("figures 1–2, Django Channels: {e:#}"));
        Measured {
            headline: Value::Null,
            chart: chart_sockets()
                .into_iter()
                .map(|n| (n, Value::Null))
                .collect(),
        }
    });
    let two = measure_two(&python, &dir, &mut failures)?;
    let mut storms = Vec::new();
    for jitter in [true, false] {
        match measure_storm(&dir, jitter) {
            Ok(storm) => storms.push(storm),
            Err(e) => failures.push(format!("figure 4 (jitter {jitter}): {e:#}")),
        }
    }
    let load_after = load_average();

    let chart_path = root().join("bench").join("fanout.svg");
    let series = |name: &str, m: &Measured, key: &str| Series {
        name: format!("{name} {key}"),
        points: m
            .chart
            .iter()
            .filter_map(|(n, v)| {
                v["fanout"][format!("{key}_ms")]
                    .as_f64()
                    .map(|ms| (*n as f64, ms))
            })
            .collect(),
    };
    bench_chart::draw(
        &chart_path,
        &[
            series("ours", &ours, "p50"),
            series("ours", &ours, "p99"),
            series("Django Channels", &django, "p50"),
            series("Django Channels", &django, "p99"),
        ],
    )?;

    let mut md = String::new();
    md.push_str("## Server fan-out, ours and Django Channels\n\n");
    md.push_str(&format!(
        "`{}cargo xtask bench fanout`, {}: `target/release/loadgen` (`bench/loadgen`) against `target/release/quizpulse-server` \
         (`serve --demo --simulate-every 0`, SQLite, `RUST_LOG=warn`, every quota raised far above the load but still checked: `{}`) and against the Django Channels peer \
         (`bench/peers/django`: daphne, DRF + SimpleJWT, InMemoryChannelLayer; {versions}), one after the other, \
         in one run of {:.0} s (load average {load_before} at its start, {load_after} at its end). Server and \
         generator share the machine: {}. Every socket follows the uploaded quiz, so each upload is 3 messages per \
         socket.\n\n\
         Both servers run at the same socket counts ({} for figures 1 and 3; {} for the chart). Uploads go one at a \
         time, each with a delivery window measured from its `POST`: {WINDOW_S} s for ours, {DJANGO_WINDOW_S} s for \
         the peer (Channels' own message expiry: a message still queued after it is dropped by the channel layer, \
         and its consumer with it from every group). **How drops are counted:** a socket that has not received an \
         upload's last message (`quiz_leaderboard_updated`) when the window ends counts as one miss for that upload \
         (\"missed\" sums them over the uploads), whatever arrives later is not counted, and a `POST` still \
         unanswered then is not an error (the upload is found by the messages it produced). Deliveries/s count the \
         messages (all three kinds) the sockets received within the windows, divided by the time from each `POST` to \
         its last socket, or, for an upload that had not reached every socket, to the last message received within \
         its window: dropped messages add nothing (its latency is then shown as \"> window\"). After such an upload the generator waits (up to a minute) for the server to go idle before \
         the next one; each of the peer's points runs on a fresh daphne, and between two runs on one of our servers \
         the bench waits until it is idle, so a backlog does not spill into the next figure. The peer gets \
         {DJANGO_UPLOADS} uploads per point and no sustained rates (below).\n\n",
        if sockets() == 10_000 {
            String::new()
        } else {
            format!("QUIZPULSE_BENCH_SOCKETS={} ", sockets())
        },
        today_utc(),
        BENCH_LIMITS.join(" "),
        started.elapsed().as_secs_f64(),
        machine(),
        sockets(),
        chart_sockets()
            .iter()
            .map(usize::to_string)
            .collect::<Vec<_>>()
            .join(" / ")
    ));

    let (o, d) = (&ours.headline, &django.headline);
    let ratio = |a: &Value, b: &Value| match (a.as_f64(), b.as_f64()) {
        (Some(a), Some(b)) if b > 0.0 => format!("{:.0}×", a / b),
        _ => "–".into(),
    };
    let n = sockets();
    md.push_str(&format!("**1. Fan-out to {n} sockets** (both servers)\n\n"));
    md.push_str("| measure | ours | Django Channels | ours / Django |\n|---|---:|---:|---:|\n");
    md.push_str(&format!(
        "| uploads timed | {} | {} | |\n",
        count(&o["fanout"]["uploads"]),
        count(&d["fanout"]["uploads"])
    ));
    md.push_str(&format!(
        "| upload → last socket, p50 (ms) | {} | {} | |\n| upload → last socket, p99 (ms) | {} | {} | |\n",
        latency(&o["fanout"], "p50_ms"), latency(&d["fanout"], "p50_ms"),
        latency(&o["fanout"], "p99_ms"), latency(&d["fanout"], "p99_ms")
    ));
    md.push_str(&format!(
        "| sockets missed within the window (summed over uploads) | {} | {} | |\n",
        count(&o["fanout"]["missed"]),
        count(&d["fanout"]["missed"])
    ));
    md.push_str(&format!(
        "| uploads that had not reached every socket / whose `POST` had no answer, by the window's end | {} / {} | {} / {} | |\n",
        count(&o["fanout"]["incomplete"]),
        count(&o["fanout"]["unanswered"]),
        count(&d["fanout"]["incomplete"]),
        count(&d["fanout"]["unanswered"])
    ));
    md.push_str(&format!(
        "| **fan-out deliveries/s** (uploads one at a time, delivered within the window only) | {} | {} | **{}** |\n",
        f(&o["fanout"]["deliveries_per_s"]),
        f(&d["fanout"]["deliveries_per_s"]),
        ratio(
            &o["fanout"]["deliveries_per_s"],
            &d["fanout"]["deliveries_per_s"]
        )
    ));
    md.push_str(&format!(
        "| sustained deliveries/s, no drops, p99 ≤ {P99_LIMIT_MS} ms (best rate) | {} | {} | |\n",
        sustained(o),
        sustained(d)
    ));
    md.push_str(&format!(
        "| server CPU per upload (ms; independent of the machine's other load) | {} | {} | {} less |\n",
        f(&o["fanout"]["server_cpu_ms_per_upload"]),
        f(&d["fanout"]["server_cpu_ms_per_upload"]),
        ratio(
            &d["fanout"]["server_cpu_ms_per_upload"],
            &o["fanout"]["server_cpu_ms_per_upload"]
        )
    ));
    md.push_str(&format!(
        "| load generator CPU per upload (ms) | {} | {} | |\n",
        f(&o["fanout"]["loadgen_cpu_ms_per_upload"]),
        f(&d["fanout"]["loadgen_cpu_ms_per_upload"])
    ));
    md.push_str(&format!(
        "| server memory per idle socket (KiB, RSS delta / sockets) | {} | {} | |\n",
        f(&o["kib_per_socket"]),
        f(&d["kib_per_socket"])
    ));
    md.push_str(&format!(
        "| connect + subscribe {n} sockets (s) | {} | {} | |\n",
        f(&o["connect_s"]),
        f(&d["connect_s"])
    ));
    md.push_str(&format!(
        "| sockets closed by the server / seq gaps | {} / {} | {} / – (the peer sends no `seq`) | |\n\n",
        count(&o["closed"]),
        count(&o["seq_gaps"]),
        count(&d["closed"])
    ));

    md.push_str(&format!("**Sustained rate** (ours; each rate held 2 s; stops at the first rate whose p99 passes {P99_LIMIT_MS} ms or where a socket misses a message. Not run on the peer: its single uploads above already pass the limit)\n\n"));
    md.push_str("| server | uploads/s | p50 (ms) | p99 (ms) | deliveries/s | missed | closed |\n|---|---:|---:|---:|---:|---:|---:|\n");
    for (name, v) in [("ours", o), ("Django Channels", d)] {
        for s in v["sustained"]["steps"].as_array().into_iter().flatten() {
            md.push_str(&format!(
                "| {name} | {} | {} | {} | {} | {} | {} |\n",
                s["rate"],
                f(&s["p50_ms"]),
                f(&s["p99_ms"]),
                f(&s["deliveries_per_s"]),
                s["missed"],
                s["closed"]
            ));
        }
    }
    md.push('\n');

    md.push_str(&format!("**2. Fan-out latency against sockets** ([chart](bench/fanout.svg); ours: 10 uploads per point, Django: {DJANGO_UPLOADS}, the last point from figure 1)\n\n"));
    md.push_str("| sockets | ours p50 / p99 (ms) | Django p50 / p99 (ms) | Django missed | ours deliveries/s | Django deliveries/s | ours / Django |\n|---:|---:|---:|---:|---:|---:|---:|\n");
    for ((n, ov), (_, dv)) in ours.chart.iter().zip(&django.chart) {
        md.push_str(&format!(
            "| {n} | {} / {} | {} / {} | {} | {} | {} | {} |\n",
            latency(&ov["fanout"], "p50_ms"),
            latency(&ov["fanout"], "p99_ms"),
            latency(&dv["fanout"], "p50_ms"),
            latency(&dv["fanout"], "p99_ms"),
            count(&dv["fanout"]["missed"]),
            f(&ov["fanout"]["deliveries_per_s"]),
            f(&dv["fanout"]["deliveries_per_s"]),
            ratio(
                &ov["fanout"]["deliveries_per_s"],
                &dv["fanout"]["deliveries_per_s"]
            )
        ));
    }
    md.push_str("\n![fan-out latency against sockets](bench/fanout.svg)\n\n");

    md.push_str("**3. Two processes behind one Redis** (sockets alternating between them, uploads through the first, the same socket count on both setups and the windows above; the Django pair's redis-py pool raised from 100 to 10 000 connections)\n\n");
    md.push_str("| setup | uploads | p50 (ms) | p99 (ms) | missed | fan-out deliveries/s | server CPU per upload (ms, both) | memory per socket (KiB, both) | sustained deliveries/s |\n|---|---:|---:|---:|---:|---:|---:|---:|---:|\n");
    for (name, v) in &two {
        md.push_str(&format!(
            "| {name} | {} | {} | {} | {} | {} | {} | {} | {} |\n",
            count(&v["fanout"]["uploads"]),
            latency(&v["fanout"], "p50_ms"),
            latency(&v["fanout"], "p99_ms"),
            count(&v["fanout"]["missed"]),
            f(&v["fanout"]["deliveries_per_s"]),
            f(&v["fanout"]["server_cpu_ms_per_upload"]),
            f(&v["kib_per_socket"]),
            sustained(v)
        ));
    }
    md.push('\n');

    md.push_str(&format!(
        "**4. Reconnect storm**: our server restarted (SIGTERM: 1001 to every socket, then a new process on the same port) \
         under {n} sockets that come back on `quizpulse::backoff` (1001: the 1–5 s \"soon\" delay; a refused attempt: \
         quick retry with full jitter); without jitter every delay is its ceiling.\n\n"
    ));
    md.push_str("| policy | peak attempts/s | attempts | refused | all back after (ms) |\n|---|---:|---:|---:|---:|\n");
    for s in &storms {
        md.push_str(&format!(
            "| {} | {} | {} | {} | {} |\n",
            if s["jitter"] == true {
                "core backoff, full jitter"
            } else {
                "no jitter"
            },
            s["peak_attempts_per_s"],
            s["attempts"],
            s["refused"],
            s["all_back_ms"]
                .as_u64()
                .map_or("not all".into(), |v| v.to_string())
        ));
    }
    md.push('\n');
    if !failures.is_empty() {
        md.push_str("**Not measured in this run**\n\n");
        for failure in &failures {
            md.push_str(&format!("- {}\n", failure.replace('\n', " ")));
        }
        md.push('\n');
    }
    Ok(md)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_latency_past_the_window_is_shown_as_a_lower_bound() {
        let late =
            json!({"p99_ms": 60000.0, "p50_ms": 40000.0, "window_ms": 60000.0, "incomplete": 1});
        assert_eq!(latency(&late, "p99_ms"), "> 60000");
        assert_eq!(latency(&late, "p50_ms"), "40000");
        let whole = json!({"p99_ms": 60000.0, "window_ms": 60000.0, "incomplete": 0});
        assert_eq!(latency(&whole, "p99_ms"), "60000");
        assert_eq!(latency(&json!(null), "p99_ms"), "–");
    }

    #[test]
    fn the_sustained_cell_says_why_there_is_no_rate() {
        let best = json!({"sustained": {"steps": [{}], "best_deliveries_per_s": 1500.0},
                          "fanout": {"p99_ms": 50.0}});
        assert_eq!(sustained(&best), "1500");
        let none = json!({"sustained": {"steps": [{}], "best_deliveries_per_s": null},
                          "fanout": {"p99_ms": 500.0}});
        assert_eq!(sustained(&none), "none");
        let slow = json!({"sustained": {"steps": [], "best_deliveries_per_s": null},
                          "fanout": {"p99_ms": 60000.0, "window_ms": 60000.0, "incomplete": 3}});
        assert_eq!(sustained(&slow), "0 (one upload alone: p99 > 60000 ms)");
        assert_eq!(sustained(&json!(null)), "not run");
    }
}
