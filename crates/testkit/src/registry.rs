//! Real OCI peers for tests: Debian's `docker-registry` on 127.0.0.1 (optionally with
//! htpasswd basic auth), and OCI images built without Docker by `umoci` and pushed with
//! `skopeo` (`shared/docs/test-peers.md`). Missing tools are an error naming the package,
//! never a silent skip.

use std::net::{Ipv4Addr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A running `docker-registry serve`, killed on drop; its storage is a temp dir.
pub struct RegistryPeer {
    child: Child,
    port: u16,
    dir: tempfile::TempDir,
    auth: Option<(String, String)>,
}

impl RegistryPeer {
    /// Starts a registry without auth.
    pub fn start() -> std::io::Result<Self> {
        Self::start_with(None)
    }

    /// Starts a registry that wants basic auth with `user`/`password` (bcrypt htpasswd).
    pub fn start_with_basic_auth(user: &str, password: &str) -> std::io::Result<Self> {
        Self::start_with(Some((user.to_owned(), password.to_owned())))
    }

    fn start_with(auth: Option<(String, String)>) -> std::io::Result<Self> {
        let dir = tempfile::tempdir()?;
        let port = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?
            .local_addr()?
            .port();
        let mut config = format!(
            "version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n    rootdirectory: {}\n  delete:\n    enabled: true\nhttp:\n  addr: 127.0.0.1:{port}\n  secret: berth-test-secret\n",
            dir.path().join("storage").display()
        );
        if let Some((user, password)) = &auth {
            let out = tool("htpasswd", "apache2-utils")
                .args(["-Bbn", user, password])
                .output()?;
            if !out.status.success() {
                return Err(std::io::Error::other("htpasswd failed"));
            }
            let htpasswd = dir.path().join("htpasswd");
            std::fs::write(&htpasswd, out.stdout)?;
            config.push_str(&format!(
                "auth:\n  htpasswd:\n    realm: berth-test\n    path: {}\n",
                htpasswd.display()
            ));
        }
        let config_path = dir.path().join("config.yml");
        std::fs::write(&config_path, config)?;
        let child = tool("docker-registry", "docker-registry")
            .arg("serve")
            .arg(&config_path)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()?;
        let peer = Self {
            child,
            port,
            dir,
            auth,
        };
        let deadline = Instant::now() + Duration::from_secs(10);
        while TcpStream::connect((Ipv4Addr::LOCALHOST, port)).is_err() {
            if Instant::now() > deadline {
                return Err(std::io::Error::other(
                    "docker-registry did not start in 10 s",
                ));
            }
            std::thread::sleep(Duration::from_millis(25));
        }
        Ok(peer)
    }

    /// `127.0.0.1:PORT`, the registry part of image references.
    pub fn host(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// Pushes the OCI layout `layout` tag `tag` as `name:tag` (all images of an index with
    /// `all`; Docker schema2 media types with `docker_schema2`).
    pub fn push(
        &self,
        layout: &Path,
        tag: &str,
        name: &str,
        all: bool,
        docker_schema2: bool,
    ) -> std::io::Result<()> {
        let mut cmd = tool("skopeo", "skopeo");
        cmd.args(["copy", "--quiet", "--dest-tls-verify=false"]);
        if all {
            cmd.arg("--all");
        }
        if docker_schema2 {
            cmd.args(["--format", "v2s2"]);
        }
        if let Some((u, p)) = &self.auth {
            cmd.arg("--dest-creds").arg(format!("{u}:{p}"));
        }
        cmd.arg(format!("oci:{}:{tag}", layout.display()))
            .arg(format!("docker://{}/{name}:{tag}", self.host()));
        run(&mut cmd)
    }

    /// Where the registry keeps blobs (to damage one in a test).
    pub fn storage(&self) -> PathBuf {
        self.dir.path().join("storage")
    }
}

impl Drop for RegistryPeer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// An OCI image layout built with umoci, one layer per [`OciImage::layer`] call.
pub struct OciImage {
    work: tempfile::TempDir,
    tag: String,
}

impl OciImage {
    /// A new image `tag` in a fresh layout (no layers yet).
    pub fn new(tag: &str) -> std::io::Result<Self> {
        let work = tempfile::tempdir()?;
        let layout = work.path().join("layout");
        run(tool("umoci", "umoci")
            .arg("init")
            .arg("--layout")
            .arg(&layout))?;
        run(tool("umoci", "umoci")
            .arg("new")
            .arg("--image")
            .arg(format!("{}:{tag}", layout.display())))?;
        run(tool("umoci", "umoci")
            .args(["unpack", "--rootless", "--image"])
            .arg(format!("{}:{tag}", layout.display()))
            .arg(work.path().join("bundle")))?;
        Ok(Self {
            work,
            tag: tag.to_owned(),
        })
    }

    /// The OCI layout directory.
    pub fn layout(&self) -> PathBuf {
        self.work.path().join("layout")
    }

    /// The tag.
    pub fn tag(&self) -> &str {
        &self.tag
    }

    /// The root file system being edited for the next layer.
    pub fn rootfs(&self) -> PathBuf {
        self.work.path().join("bundle/rootfs")
    }

    /// Records the changes made under [`OciImage::rootfs`] as a new layer.
    pub fn layer(&self) -> std::io::Result<()> {
        run(tool("umoci", "umoci")
            .args(["repack", "--refresh-bundle", "--image"])
            .arg(format!("{}:{}", self.layout().display(), self.tag))
            .arg(self.work.path().join("bundle")))
    }

    /// Sets config values with `umoci config` arguments (`--config.cmd=sh`, …).
    pub fn config(&self, args: &[&str]) -> std::io::Result<()> {
        run(tool("umoci", "umoci")
            .arg("config")
            .args(args)
            .arg("--image")
            .arg(format!("{}:{}", self.layout().display(), self.tag)))
    }
}

fn tool(name: &str, package: &str) -> Command {
    if which(name).is_none() {
        panic!(
            "berth-testkit: `{name}` not found; apt-get install {package} (scripts/setup.sh test)"
        );
    }
    Command::new(name)
}

fn which(name: &str) -> Option<PathBuf> {
    std::env::var_os("PATH")?
        .to_str()?
        .split(':')
        .map(|d| Path::new(d).join(name))
        .find(|p| p.is_file())
}

fn run(cmd: &mut Command) -> std::io::Result<()> {
    let out = cmd.output()?;
    if out.status.success() {
        Ok(())
    } else {
        Err(std::io::Error::other(format!(
            "{:?} failed: {}",
            cmd,
            String::from_utf8_lossy(&out.stderr).trim()
        )))
    }
}
