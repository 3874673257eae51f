//! Real PostgreSQL and Redis for the tests, started on free loopback ports
//! with temporary data directories.
//!
//! PostgreSQL: one cluster per test binary (started on first use), a fresh
//! database per test. Redis: one server per test (it starts in milliseconds,
//! and a test may stop and restart it).
//!
//! Nothing outlives the test process: each server runs under a small `sh`
//! watchdog whose stdin is a pipe from this process; when the process ends
//! however it ends (even on a panic or a SIGKILL), the pipe closes, the
//! watchdog stops the server and removes its directory.
#![allow(clippy::unwrap_used, clippy::expect_used, dead_code)]

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

/// A free loopback port (bound, then released for the server to take).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|out| String::from_utf8_lossy(&out.stdout).trim() == "0")
        .unwrap_or(false)
}

/// Runs `script` under `sh` as a watchdog: `$1`.. are `args`; the script
/// starts its server in the background as `$pid` and then the watchdog waits
/// for stdin to close. As root, PostgreSQL refuses to run, so `user` runs it.
fn watchdog(script: &str, args: &[&str], user: Option<&str>) -> Child {
    let body = format!(
        "{script}\nread _ignored\nkill -INT $pid 2>/dev/null\nwait $pid 2>/dev/null\n[ -n \"$CLEANUP\" ] && rm -rf \"$CLEANUP\"\n"
    );
    let mut cmd = match user {
        Some(user) => {
            let mut cmd = Command::new("runuser");
            cmd.args(["-u", user, "--", "sh", "-c", &body, "watchdog"]);
            cmd
        }
        None => {
            let mut cmd = Command::new("sh");
            cmd.args(["-c", &body, "watchdog"]);
            cmd
        }
    };
    cmd.args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("cannot start sh (watchdog)")
}

fn wait_for_port(port: u16, what: &str) {
    // Generous: a cold first start on a busy machine is slow.
    let deadline = Instant::now() + Duration::from_secs(120);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            Instant::now() < deadline,
            "{what} did not listen on 127.0.0.1:{port} within 120 s"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// PostgreSQL's programs: `pg_config --bindir`, Debian's
/// `/usr/lib/postgresql/N/bin`, or `PATH`.
fn pg_bin(program: &str) -> PathBuf {
    if let Ok(out) = Command::new("pg_config").arg("--bindir").output() {
        let dir = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
        if dir.join(program).exists() {
            return dir.join(program);
        }
    }
    if let Ok(entries) = std::fs::read_dir("/usr/lib/postgresql") {
        let mut dirs: Vec<PathBuf> = entries.flatten().map(|e| e.path().join("bin")).collect();
        dirs.sort();
        if let Some(dir) = dirs.into_iter().rev().find(|d| d.join(program).exists()) {
            return dir.join(program);
        }
    }
    PathBuf::from(program)
}

/// One PostgreSQL cluster for this test binary.
pub struct Postgres {
    port: u16,
    _watchdog: Child,
}

static POSTGRES: OnceLock<Postgres> = OnceLock::new();
static DATABASES: AtomicU32 = AtomicU32::new(0);

impl Postgres {
    /// The binary's cluster, started on first use.
    pub fn shared() -> &'static Postgres {
        POSTGRES.get_or_init(Postgres::start)
    }

    fn start() -> Postgres {
        let root = is_root();
        let user = root.then_some("postgres");
        let dir = tempfile::Builder::new()
            .prefix("quizpulse-pg-")
            .tempdir()
            .unwrap()
            .keep();
        if root {
            let status = Command::new("chown")
                .args(["postgres:", &dir.display().to_string()])
                .status()
                .unwrap();
            assert!(status.success(), "chown of the PostgreSQL directory failed");
        }
        let data = dir.join("data");
        let initdb = pg_bin("initdb");
        let mut cmd = match user {
            Some(user) => {
                let mut cmd = Command::new("runuser");
                cmd.args(["-u", user, "--"]).arg(&initdb);
                cmd
            }
            None => Command::new(&initdb),
        };
        let out = cmd
            .arg("-D")
            .arg(&data)
            .args([
                "-U",
                "postgres",
                "--auth=trust",
                "-E",
                "UTF8",
                "--no-sync",
                "--no-instructions",
            ])
            .output()
            .unwrap_or_else(|e| {
                panic!(
                    "cannot run {} ({e}): install PostgreSQL (cargo xtask setup)",
                    initdb.display()
                )
            });
        assert!(
            out.status.success(),
            "initdb failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let port = free_port();
        let postgres = pg_bin("postgres");
        let watchdog = watchdog(
            "CLEANUP=\"$4\"\n\"$1\" -D \"$2\" -p \"$3\" -k \"$4\" -c listen_addresses=127.0.0.1 \
             -c fsync=off -c max_connections=300 -c shared_buffers=32MB >\"$4/log\" 2>&1 &\npid=$!",
            &[
                &postgres.display().to_string(),
                &data.display().to_string(),
                &port.to_string(),
                &dir.display().to_string(),
            ],
            user,
        );
        wait_for_port(port, "PostgreSQL");
        Postgres {
            port,
            _watchdog: watchdog,
        }
    }

    /// The URL of a database on this cluster.
    pub fn url(&self, db: &str) -> String {
        format!("postgres://postgres@127.0.0.1:{}/{db}", self.port)
    }

    /// Creates a fresh, empty database and returns its URL.
    pub async fn fresh_database(&self) -> String {
        let name = format!(
            "t{}_{}",
            std::process::id(),
            DATABASES.fetch_add(1, Ordering::Relaxed)
        );
        sqlx::any::install_default_drivers();
        // The cluster may still be starting: retry for a while.
        let deadline = Instant::now() + Duration::from_secs(120);
        loop {
            let created = async {
                use sqlx::Connection;
                let mut conn = sqlx::AnyConnection::connect(&self.url("postgres")).await?;
                sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
                    .execute(&mut conn)
                    .await?;
                conn.close().await
            }
            .await;
            match created {
                Ok(()) => return self.url(&name),
                Err(e) if Instant::now() < deadline => {
                    let _ = e;
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                Err(e) => panic!("cannot create a PostgreSQL database: {e}"),
            }
        }
    }
}

/// A Redis server of one test; stopped when dropped.
pub struct Redis {
    port: u16,
    dir: PathBuf,
    watchdog: Option<Child>,
}

impl Redis {
    /// Starts a server on a free port.
    pub fn start() -> Redis {
        let dir = tempfile::Builder::new()
            .prefix("quizpulse-redis-")
            .tempdir()
            .unwrap()
            .keep();
        let mut redis = Redis {
            port: free_port(),
            dir,
            watchdog: None,
        };
        redis.restart();
        redis
    }

    fn spawn(port: u16, dir: &Path) -> Child {
        watchdog(
            "redis-server --port \"$1\" --bind 127.0.0.1 --save '' --appendonly no --dir \"$2\" \
             --logfile \"$2/log\" &\npid=$!",
            &[&port.to_string(), &dir.display().to_string()],
            None,
        )
    }

    /// `redis://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// Stops the server and waits until it has gone.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.watchdog.take() {
            drop(child.stdin.take());
            let _ = child.wait();
        }
    }

    /// Starts it again on the same port (after [`Redis::stop`]).
    pub fn restart(&mut self) {
        self.stop();
        self.watchdog = Some(Self::spawn(self.port, &self.dir));
        wait_for_port(self.port, "redis-server");
    }
}

impl Drop for Redis {
    fn drop(&mut self) {
        self.stop();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
