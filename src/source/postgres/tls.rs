//! A rustls TLS connector for tokio-postgres (the rustls the gRPC clients already bring,
//! with the `ring` provider), with libpq's certificate checks: none for `prefer` /
//! `require`, the chain for `verify-ca`, chain and host name for `verify-full`; the roots
//! from the `sslrootcert` file, or the system's store for `sslrootcert=system` (libpq 16;
//! `rustls-native-certs`: `SSL_CERT_FILE` / `SSL_CERT_DIR`, else the distribution's bundle).

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{
    CertificateError, ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme,
};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio_postgres::tls::{ChannelBinding, MakeTlsConnect, TlsConnect};

use super::conninfo::{RootCert, SslMode};

/// What the certificate check does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Check {
    None,
    Chain,
    ChainAndName,
}

/// Builds the client configuration for `mode` (`root` = `sslrootcert`: a CA file, or the
/// system's store).
///
/// # Errors
/// When the root certificates cannot be read or there are none.
pub fn client_config(mode: SslMode, root: Option<&RootCert>) -> Result<Arc<ClientConfig>, String> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS setup failed: {e}"))?;
    Ok(Arc::new(
        builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(verifier(mode, root, provider)?))
            .with_no_client_auth(),
    ))
}

fn verifier(
    mode: SslMode,
    root: Option<&RootCert>,
    provider: Arc<CryptoProvider>,
) -> Result<Verifier, String> {
    let check = match mode {
        SslMode::Disable | SslMode::Prefer => Check::None,
        // libpq: `require` with a root certificate file behaves like `verify-ca`.
        SslMode::Require if root.is_some() => Check::Chain,
        SslMode::Require => Check::None,
        SslMode::VerifyCa => Check::Chain,
        SslMode::VerifyFull => Check::ChainAndName,
    };
    let mut verifier = Verifier {
        provider,
        webpki: None,
        pinned: Vec::new(),
        check,
    };
    if check == Check::None {
        return Ok(verifier);
    }
    let mut roots = RootCertStore::empty();
    match root {
        None => {
            return Err(
                "sslmode verify-ca / verify-full needs sslrootcert=FILE (the CA certificate) \
                 or sslrootcert=system"
                    .to_owned(),
            );
        }
        Some(RootCert::File(root)) => {
            let certs = CertificateDer::pem_file_iter(root)
                .map_err(|e| format!("cannot read sslrootcert {}: {e}", root.display()))?;
            for cert in certs {
                let cert =
                    cert.map_err(|e| format!("bad certificate in {}: {e}", root.display()))?;
                verifier.pinned.push(cert.clone());
                roots
                    .add(cert)
                    .map_err(|e| format!("bad certificate in {}: {e}", root.display()))?;
            }
            if roots.is_empty() {
                return Err(format!("no certificate in sslrootcert {}", root.display()));
            }
        }
        Some(RootCert::System) => {
            let found = rustls_native_certs::load_native_certs();
            let (added, _) = roots.add_parsable_certificates(found.certs);
            if added == 0 {
                let why: Vec<String> = found.errors.iter().map(ToString::to_string).collect();
                return Err(format!(
                    "sslrootcert=system: no CA certificate in the system's store{}",
                    if why.is_empty() {
                        String::new()
                    } else {
                        format!(" ({})", why.join("; "))
                    }
                ));
            }
        }
    }
    verifier.webpki = Some(
        WebPkiServerVerifier::builder_with_provider(Arc::new(roots), verifier.provider.clone())
            .build()
            .map_err(|e| format!("TLS setup failed: {e}"))?,
    );
    Ok(verifier)
}

/// libpq's certificate checks: none (`prefer`, `require`), the chain against the root
/// certificates (`verify-ca`), the chain and the host name (`verify-full`). A server
/// certificate that is itself one of the `sslrootcert` file's certificates (a self-signed
/// one, as libpq accepts) is trusted as such. Handshake signatures are always checked.
#[derive(Debug)]
struct Verifier {
    provider: Arc<CryptoProvider>,
    webpki: Option<Arc<WebPkiServerVerifier>>,
    pinned: Vec<CertificateDer<'static>>,
    check: Check,
}

/// The handshake signature checks, the same for every mode.
macro_rules! signature_checks {
    ($($name:ident),*) => {$(
        fn $name(
            &self,
            message: &[u8],
            cert: &CertificateDer<'_>,
            dss: &DigitallySignedStruct,
        ) -> Result<HandshakeSignatureValid, rustls::Error> {
            rustls::crypto::$name(
                message,
                cert,
                dss,
                &self.provider.signature_verification_algorithms,
            )
        }
    )*};
}

impl ServerCertVerifier for Verifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let Some(webpki) = self.webpki.as_ref().filter(|_| self.check != Check::None) else {
            return Ok(ServerCertVerified::assertion());
        };
        let check_name = self.check == Check::ChainAndName;
        if self
            .pinned
            .iter()
            .any(|root| root.as_ref() == end_entity.as_ref())
        {
            if check_name {
                let cert = webpki::EndEntityCert::try_from(end_entity)
                    .map_err(|e| rustls::Error::General(format!("bad certificate: {e}")))?;
                cert.verify_is_valid_for_subject_name(server_name)
                    .map_err(|_| {
                        rustls::Error::InvalidCertificate(CertificateError::NotValidForName)
                    })?;
            }
            return Ok(ServerCertVerified::assertion());
        }
        match webpki.verify_server_cert(end_entity, intermediates, server_name, ocsp, now) {
            Err(rustls::Error::InvalidCertificate(
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
            )) if !check_name => Ok(ServerCertVerified::assertion()),
            other => other,
        }
    }

    signature_checks!(verify_tls12_signature, verify_tls13_signature);

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

/// tokio-postgres' TLS factory over rustls.
#[derive(Clone)]
pub struct MakeRustls(pub Arc<ClientConfig>);

impl<S> MakeTlsConnect<S> for MakeRustls
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    type Stream = RustlsStream<S>;
    type TlsConnect = RustlsConnect;
    type Error = io::Error;

    fn make_tls_connect(&mut self, domain: &str) -> io::Result<RustlsConnect> {
        let name = ServerName::try_from(domain.to_owned())
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
        Ok(RustlsConnect {
            config: self.0.clone(),
            name,
        })
    }
}

/// One TLS handshake.
pub struct RustlsConnect {
    config: Arc<ClientConfig>,
    name: ServerName<'static>,
}

impl<S> TlsConnect<S> for RustlsConnect
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    type Stream = RustlsStream<S>;
    type Error = io::Error;
    type Future = Pin<Box<dyn Future<Output = io::Result<RustlsStream<S>>> + Send>>;

    fn connect(self, stream: S) -> Self::Future {
        Box::pin(async move {
            tokio_rustls::TlsConnector::from(self.config)
                .connect(self.name, stream)
                .await
                .map(RustlsStream)
        })
    }
}

/// A TLS stream tokio-postgres can talk through.
pub struct RustlsStream<S>(tokio_rustls::client::TlsStream<S>);

impl<S: AsyncRead + AsyncWrite + Unpin> AsyncRead for RustlsStream<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_read(cx, buf)
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> AsyncWrite for RustlsStream<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.0).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_shutdown(cx)
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> tokio_postgres::tls::TlsStream for RustlsStream<S> {
    fn channel_binding(&self) -> ChannelBinding {
        ChannelBinding::none()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A self-signed certificate for 127.0.0.1 / localhost, valid 2026-12-02 to 2126.
    const SELF_SIGNED: &str = "\
-----BEGIN CERTIFICATE-----\n\
MIIBmzCCAUGgAwIBAgIUIjrcwixiNfWHmXnMVH23Lc+dGG4wCgYIKoZIzj0EAwIw\n\
FDESMBAGA1UEAwwJMTI3LjAuMC4xMCAXDTI2MTIwMjIyMjYwMloYDzIxMjYxMTA4\n\
MjIyNjAyWjAUMRIwEAYDVQQDDAkxMjcuMC4wLjEwWTATBgcqhkjOPQIBBggqhkjO\n\
PQMBBwNCAATs0vo/hIUpNjk1qXgFGB/lLb8zoTWmuP50rLqBA8QduYpva2OTsUxm\n\
y7+I/5yKfguTs+ReDXYbxATNnVx4ixuwo28wbTAdBgNVHQ4EFgQUCVyRg/vLXats\n\
deSEsy62Xch0ezYwHwYDVR0jBBgwFoAUCVyRg/vLXatsdeSEsy62Xch0ezYwDwYD\n\
VR0TAQH/BAUwAwEB/zAaBgNVHREEEzARhwR/AAABgglsb2NhbGhvc3QwCgYIKoZI\n\
zj0EAwIDSAAwRQIgbVHCPmlXuSthNswaVKO0NoeQOVe0GDKD3Ih7MRedpBwCIQDr\n\
AmOmbLMVvYAxubgnXifS2dfFn3go8I1mrCGGnVwWHg==\n\
-----END CERTIFICATE-----\n\
";

    fn check(verifier: &Verifier, host: &str) -> Result<ServerCertVerified, rustls::Error> {
        let cert = CertificateDer::from_pem_slice(SELF_SIGNED.as_bytes()).unwrap();
        // 2027-01-01, inside the certificate's validity.
        let now = UnixTime::since_unix_epoch(std::time::Duration::from_secs(1_798_761_600));
        verifier.verify_server_cert(
            &cert,
            &[],
            &ServerName::try_from(host.to_owned()).unwrap(),
            &[],
            now,
        )
    }

    fn provider() -> Arc<CryptoProvider> {
        Arc::new(rustls::crypto::ring::default_provider())
    }

    #[test]
    fn sslrootcert_system_trusts_the_system_store_only() {
        if !std::path::Path::new("/etc/ssl/certs/ca-certificates.crt").is_file() {
            eprintln!("SKIPPING: no system CA bundle (Debian's ca-certificates)");
            return;
        }
        let system = verifier(SslMode::VerifyFull, Some(&RootCert::System), provider()).unwrap();
        assert!(system.webpki.is_some() && system.pinned.is_empty());
        // A self-signed server certificate is no system CA's.
        let err = check(&system, "127.0.0.1").unwrap_err();
        assert!(
            matches!(err, rustls::Error::InvalidCertificate(_)),
            "{err:?}"
        );
        assert!(client_config(SslMode::VerifyFull, Some(&RootCert::System)).is_ok());
    }

    #[test]
    fn a_root_file_pins_its_certificates_and_checks_names_for_verify_full() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("root.crt");
        std::fs::write(&file, SELF_SIGNED).unwrap();
        let root = RootCert::File(file);
        let full = verifier(SslMode::VerifyFull, Some(&root), provider()).unwrap();
        assert!(check(&full, "127.0.0.1").is_ok());
        assert!(check(&full, "localhost").is_ok());
        assert!(check(&full, "db.example").is_err(), "the name is checked");
        let ca = verifier(SslMode::VerifyCa, Some(&root), provider()).unwrap();
        assert!(
            check(&ca, "db.example").is_ok(),
            "verify-ca ignores the name"
        );
        // Without roots: nothing checked for require, an error for verify-*.
        let any = verifier(SslMode::Require, None, provider()).unwrap();
        assert!(check(&any, "db.example").is_ok());
        let err = verifier(SslMode::VerifyFull, None, provider()).unwrap_err();
        assert!(err.contains("sslrootcert=system"), "{err}");
        let empty = dir.path().join("empty.crt");
        std::fs::write(&empty, "").unwrap();
        let err =
            verifier(SslMode::VerifyCa, Some(&RootCert::File(empty)), provider()).unwrap_err();
        assert!(err.contains("no certificate"), "{err}");
    }
}
