//! `instant-local`: run a local Instant-compatible server, or create / restore apps
//! in its database.

use std::path::PathBuf;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "instant-local",
    version,
    about = "A local Instant-compatible server"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the Admin HTTP API.
    Serve {
        /// Address to listen on (loopback by default).
        #[arg(long, default_value = "127.0.0.1")]
        host: std::net::IpAddr,
        /// Port (0 picks a free one).
        #[arg(long, default_value_t = 8888)]
        port: u16,
        /// SQLite database file, or `:memory:`.
        #[arg(long, default_value = "instant-local.db")]
        db: PathBuf,
        /// Personal access token for the Platform API (`/superadmin/...`); when
        /// absent one is generated and printed (stderr) at start.
        #[arg(long)]
        platform_token: Option<String>,
    },
    /// Create an app and print `{"app_id", "admin_token"}`.
    CreateApp {
        /// SQLite database file.
        #[arg(long, default_value = "instant-local.db")]
        db: PathBuf,
        /// App title.
        #[arg(long)]
        title: String,
    },
    /// Restore an Instant backup (zip or folder) into a new app and print its credentials.
    Restore {
        /// SQLite database file.
        #[arg(long, default_value = "instant-local.db")]
        db: PathBuf,
        /// App title.
        #[arg(long)]
        title: String,
        /// The backup (zip file or unpacked folder).
        backup: PathBuf,
    },
}

#[tokio::main]
async fn main() {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "warn".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    if let Err(e) = run(cli).await {
        eprintln!("error: {e}");
        std::process::exit(1);
    }
}

async fn run(cli: Cli) -> Result<(), instant_local::LocalError> {
    use instant_local::LocalServer;
    match cli.command {
        Command::Serve {
            host,
            port,
            db,
            platform_token,
        } => {
            let token = match platform_token {
                Some(t) => t,
                None => {
                    let t = format!("per_{}", uuid::Uuid::new_v4().simple());
                    eprintln!("platform token (personal access token): {t}");
                    t
                }
            };
            let server = LocalServer::builder()
                .platform_token(token)
                .db_path(&db)
                .host(host)
                .port(port)
                .start()
                .await?;
            println!("{}", server.url());
            let _ = tokio::signal::ctrl_c().await;
            server.shutdown().await;
        }
        Command::CreateApp { db, title } => {
            let server = LocalServer::builder().db_path(&db).start().await?;
            let app = server.create_app(&title).await?;
            println!("{}", serde_json::to_string(&app).unwrap_or_default());
            server.shutdown().await;
        }
        Command::Restore { db, title, backup } => {
            let server = LocalServer::builder().db_path(&db).start().await?;
            let app = server.restore(&title, &backup).await?;
            println!("{}", serde_json::to_string(&app).unwrap_or_default());
            server.shutdown().await;
        }
    }
    Ok(())
}
