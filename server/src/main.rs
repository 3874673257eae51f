//! `quizpulse-server`: the reference backend's command line.
//!
//! ```text
//! quizpulse-server serve --bind 127.0.0.1:8000 --db sqlite://quizpulse.db [--demo]
//! quizpulse-server serve --db postgres://USER@HOST/DB --broker redis://HOST:6379   # one of many
//! quizpulse-server user add NAME        # password from QUIZPULSE_PASSWORD or stdin
//! quizpulse-server user disable NAME    # its sockets get 4003, its REST calls 401
//! quizpulse-server migrate
//! ```

use std::io::{BufRead, IsTerminal};
use std::net::SocketAddr;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};
use quizpulse_server::auth::PasswordHashing;
use quizpulse_server::config::{
    self, Config, DemoConfig, Rate, Secret, SqliteSync, parse_clock_offset, parse_duration,
    parse_max_score,
};
use quizpulse_server::{Server, db, demo};

#[derive(Parser)]
#[command(
    name = "quizpulse-server",
    version,
    about = "QuizPulse reference server"
)]
struct Cli {
    /// Log as JSON lines instead of text (logs go to stderr; RUST_LOG filters).
    #[arg(long, global = true, env = "QUIZPULSE_LOG_JSON")]
    log_json: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the REST API and the socket.
    Serve(Box<ServeArgs>),
    /// Manage users.
    User {
        #[command(subcommand)]
        command: UserCommand,
    },
    /// Apply database migrations and exit.
    Migrate(DbArg),
}

#[derive(Args)]
struct DbArg {
    /// Database URL: sqlite://FILE (created if missing; one instance only) or
    /// postgres://USER:PASSWORD@HOST/DB (shared by any number of instances).
    #[arg(long, env = "QUIZPULSE_DB", default_value = "sqlite://quizpulse.db")]
    db: String,
}

#[derive(Subcommand)]
enum UserCommand {
    /// Create a user; the password comes from QUIZPULSE_PASSWORD or the first line of stdin.
    Add {
        /// Username.
        name: String,
        #[command(flatten)]
        db: DbArg,
    },
    /// Disable a user (REST 401 user_inactive, socket 4003).
    Disable {
        /// Username.
        name: String,
        #[command(flatten)]
        db: DbArg,
    },
    /// Enable a disabled user.
    Enable {
        /// Username.
        name: String,
        #[command(flatten)]
        db: DbArg,
    },
}

#[derive(Args)]
struct ServeArgs {
    /// Address to listen on.
    #[arg(long, env = "QUIZPULSE_BIND", default_value = "127.0.0.1:8000")]
    bind: SocketAddr,
    #[command(flatten)]
    db: DbArg,
    /// Redis URL (redis://HOST:PORT) through which instances share broadcasts.
    #[arg(long, env = "QUIZPULSE_BROKER")]
    broker: Option<String>,
    /// Seed demo users, subjects, quizzes and sessions, and simulate uploads.
    #[arg(long, env = "QUIZPULSE_DEMO")]
    demo: bool,
    /// HS256 secret for tokens (required outside --demo).
    #[arg(long, env = "QUIZPULSE_JWT_SECRET", hide_env_values = true)]
    jwt_secret: Option<String>,
    /// Access-token lifetime (e.g. 300s, 5m).
    #[arg(long, env = "QUIZPULSE_ACCESS_TTL", default_value = "5m", value_parser = parse_duration)]
    access_ttl: Duration,
    /// Refresh-token lifetime (e.g. 1d).
    #[arg(long, env = "QUIZPULSE_REFRESH_TTL", default_value = "1d", value_parser = parse_duration)]
    refresh_ttl: Duration,
    /// Return a new refresh token from /api/token/refresh/ too.
    #[arg(long, env = "QUIZPULSE_ROTATE_REFRESH")]
    rotate_refresh: bool,
    /// With --demo: time between simulated uploads (0 disables).
    #[arg(long, env = "QUIZPULSE_SIMULATE_EVERY", default_value = "4s", value_parser = parse_duration)]
    simulate_every: Duration,
    /// Broadcasts (one upload's messages each) that may wait for one socket before it is closed with 1013.
    #[arg(long, env = "QUIZPULSE_WS_QUEUE", default_value_t = 256)]
    ws_queue: usize,
    /// Client messages per second per socket.
    #[arg(long, env = "QUIZPULSE_WS_RATE", default_value_t = 50)]
    ws_rate: u32,
    /// The highest score a session may carry; uploads over it get 400.
    #[arg(long, env = "QUIZPULSE_MAX_SCORE", default_value = "1000", value_parser = parse_max_score)]
    max_score: f64,
    /// Shift the clock tokens are issued and checked with (e.g. -1h, +5m): for
    /// testing clients against a server whose clock is off theirs.
    #[arg(long, env = "QUIZPULSE_TOKEN_CLOCK_OFFSET", default_value = "0", value_parser = parse_clock_offset, allow_hyphen_values = true)]
    token_clock_offset: i64,
    /// Password checks (argon2id) run at once; each holds the hash's memory (19 MiB).
    #[arg(long, env = "QUIZPULSE_HASH_WORKERS", default_value_t = config::default_hash_workers())]
    hash_workers: usize,
    /// Sign-ins that may wait for a password check; more get 429 at once.
    #[arg(long, env = "QUIZPULSE_HASH_QUEUE", default_value_t = 32)]
    hash_queue: usize,
    /// Sign-in attempts per client address (e.g. 60/min; 0: no limit).
    #[arg(long, env = "QUIZPULSE_SIGN_IN_RATE", default_value = "60/min", value_parser = Rate::parse)]
    sign_in_rate: Rate,
    /// Failed sign-ins per username, from any address (e.g. 10/1h; 0: no limit).
    #[arg(long, env = "QUIZPULSE_SIGN_IN_FAILURES", default_value = "10/1h", value_parser = Rate::parse)]
    sign_in_failures: Rate,
    /// Uploads per account (e.g. 30/min; 0: no limit).
    #[arg(long, env = "QUIZPULSE_UPLOAD_RATE", default_value = "30/min", value_parser = Rate::parse)]
    upload_rate: Rate,
    /// Sockets one account may hold open (0: no limit).
    #[arg(long, env = "QUIZPULSE_MAX_SOCKETS_PER_USER", default_value_t = 20)]
    max_sockets_per_user: usize,
    /// Sockets one client address (IPv6: one /64) may hold open (0: no limit).
    #[arg(
        long,
        env = "QUIZPULSE_MAX_SOCKETS_PER_ADDRESS",
        default_value_t = 2000
    )]
    max_sockets_per_address: usize,
    /// Sockets this process may hold open (0: no limit).
    #[arg(long, env = "QUIZPULSE_MAX_SOCKETS", default_value_t = 50_000)]
    max_sockets: usize,
    /// Header a reverse proxy puts the client's address in (e.g.
    /// X-Forwarded-For; its last address is used). Without it, the TCP peer.
    #[arg(long, env = "QUIZPULSE_CLIENT_IP_HEADER")]
    client_ip_header: Option<String>,
    /// SQLite's synchronous setting: full (an upload answered 201 survives a
    /// power cut) or normal (faster commits; a power cut may lose the last ones).
    #[arg(long, env = "QUIZPULSE_SQLITE_SYNCHRONOUS", default_value = "full", value_parser = SqliteSync::parse)]
    sqlite_synchronous: SqliteSync,
}

/// mimalloc keeps objects of one size together on pages of their own, so a
/// fan-out pass walking every socket's write end touches fewer pages than
/// with glibc's allocator, where each lies among its socket's buffers.
/// Measured at 10 000 sockets: 8 % less server CPU per upload, 0.7 KiB more
/// memory per socket (BENCHMARKS.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| "info,sqlx=warn,tower_http=info".into());
    let logs = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    if cli.log_json {
        logs.json().init();
    } else {
        logs.with_ansi(std::io::stderr().is_terminal()).init();
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("error: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> Result<(), String> {
    match cli.command {
        Command::Serve(args) => serve(*args).await,
        Command::Migrate(DbArg { db }) => {
            let pool = db::connect(&db).await.map_err(|e| e.to_string())?;
            db::migrate(&pool).await.map_err(|e| e.to_string())?;
            println!("migrations applied to {}", db::redact(&db));
            Ok(())
        }
        Command::User { command } => user(command).await,
    }
}

async fn user(command: UserCommand) -> Result<(), String> {
    let (UserCommand::Add {
        db: DbArg { db: url },
        ..
    }
    | UserCommand::Disable {
        db: DbArg { db: url },
        ..
    }
    | UserCommand::Enable {
        db: DbArg { db: url },
        ..
    }) = &command;
    let pool = db::connect(url).await.map_err(|e| e.to_string())?;
    db::migrate(&pool).await.map_err(|e| e.to_string())?;
    match command {
        UserCommand::Add { name, .. } => {
            let name = name.trim().to_owned();
            if name.is_empty() {
                return Err("the username is empty".to_owned());
            }
            let password = match std::env::var("QUIZPULSE_PASSWORD") {
                Ok(password) => password,
                Err(_) => {
                    eprintln!("password for {name} (one line on stdin):");
                    let mut line = String::new();
                    std::io::stdin()
                        .lock()
                        .read_line(&mut line)
                        .map_err(|e| format!("reading the password: {e}"))?;
                    line.trim_end_matches(['\r', '\n']).to_owned()
                }
            };
            if password.is_empty() {
                return Err(
                    "the password is empty (set QUIZPULSE_PASSWORD or pipe one line)".to_owned(),
                );
            }
            let hash = PasswordHashing::default()
                .hash(&password)
                .map_err(|e| e.to_string())?;
            let id = db::create_user(&pool, &name, &hash)
                .await
                .map_err(|e| e.to_string())?;
            println!("created user {name} (id {id})");
        }
        UserCommand::Disable { name, .. } => set_active(&pool, &name, false).await?,
        UserCommand::Enable { name, .. } => set_active(&pool, &name, true).await?,
    }
    pool.close().await;
    Ok(())
}

async fn set_active(pool: &db::Pool, name: &str, active: bool) -> Result<(), String> {
    if db::set_user_active(pool, name, active)
        .await
        .map_err(|e| e.to_string())?
    {
        println!(
            "{} user {name}",
            if active { "enabled" } else { "disabled" }
        );
        Ok(())
    } else {
        Err(format!("no user named {name:?}"))
    }
}

async fn serve(args: ServeArgs) -> Result<(), String> {
    let (secret, secret_note) = match (args.jwt_secret.filter(|s| !s.is_empty()), args.demo) {
        (Some(secret), _) => {
            let secret = Secret::new(secret);
            secret.check_strength().map_err(|e| e.to_string())?;
            (secret, None)
        }
        (None, true) => {
            let secret = Secret::random().map_err(|e| format!("random secret: {e}"))?;
            let note = format!(
                "JWT secret (random, this run only; set QUIZPULSE_JWT_SECRET to fix it): {}",
                secret.expose()
            );
            (secret, Some(note))
        }
        (None, false) => {
            return Err(
                "no JWT secret: set QUIZPULSE_JWT_SECRET (or --jwt-secret); only --demo makes one up"
                    .to_owned(),
            );
        }
    };
    if args.broker.is_some()
        && db::Backend::of_url(&args.db.db).map_err(|e| e.to_string())? == db::Backend::Sqlite
    {
        return Err(
            "--broker needs a shared database: use --db postgres://… (SQLite serves one instance)"
                .to_owned(),
        );
    }
    let mut config = Config::new(args.db.db, secret);
    config.broker_url = args.broker.filter(|url| !url.is_empty());
    config.bind = args.bind;
    config.access_ttl = args.access_ttl;
    config.refresh_ttl = args.refresh_ttl;
    config.rotate_refresh = args.rotate_refresh;
    config.ws.queue_capacity = args.ws_queue;
    config.ws.rate_per_sec = args.ws_rate;
    config.max_score = args.max_score;
    config.token_clock_offset = args.token_clock_offset;
    config.sign_in.hash_workers = args.hash_workers.max(1);
    config.sign_in.hash_queue = args.hash_queue;
    config.sign_in.per_address = args.sign_in_rate;
    config.sign_in.failures_per_username = args.sign_in_failures;
    config.quotas.uploads_per_user = args.upload_rate;
    config.quotas.sockets_per_user = args.max_sockets_per_user;
    config.quotas.sockets_per_address = args.max_sockets_per_address;
    config.quotas.sockets_total = args.max_sockets;
    config.client_ip_header = args.client_ip_header.filter(|h| !h.trim().is_empty());
    config.sqlite_synchronous = args.sqlite_synchronous;
    if args.demo {
        config.demo = Some(DemoConfig {
            simulate_every: args.simulate_every,
        });
    }
    let demo = config.demo.clone();
    let server = Server::bind(config).await.map_err(|e| e.to_string())?;
    let addr = server.local_addr().map_err(|e| e.to_string())?;
    if let Some(demo_config) = demo {
        println!("QuizPulse reference server (demo) on http://{addr}");
        for user in demo::USERS {
            println!("  demo user {user:<6} password {}", demo::password(user));
        }
        if let Some(note) = secret_note {
            println!("  {note}");
        }
        if demo_config.simulate_every.is_zero() {
            println!("  simulator off");
        } else {
            println!(
                "  simulator: one upload every {:?}",
                demo_config.simulate_every
            );
        }
    } else {
        println!("QuizPulse reference server on http://{addr}");
    }
    tracing::info!(%addr, "listening");
    server
        .run(shutdown_signal())
        .await
        .map_err(|e| e.to_string())
}

/// Resolves on Ctrl-C or SIGTERM.
async fn shutdown_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = terminate => {}
    }
}
