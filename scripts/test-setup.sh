#!/usr/bin/env bash
# Installs the Debian packages the integration tests drive for real:
#   qemu-user-static  runs every platform's binary (no binfmt_misc needed)
#   docker-registry   a real distribution v2 registry on 127.0.0.1
#   skopeo, umoci, podman, buildah, runc   standard OCI tools reading our outputs (podman loads and runs them)
#   apache2-utils     htpasswd, for the Basic-auth registry
#   openssl           certificates for the token-auth registry
#   busybox-static    a real static rootfs for `scratchpack import`
#   pigz, binutils, file   benchmarks and ELF checks
#   time              GNU time: peak memory (RSS) of the processes the benchmarks run
#   bubblewrap        `scratchpack run`'s container sandbox (unprivileged user namespaces)
#   tmux              a real terminal for `run -t` (TIOCSTI cannot reach the caller's shell)
#   mmdebstrap, debootstrap, debian-archive-keyring, uidmap   a real Debian rootfs for the full-image tests
#   ca-certificates   update-ca-certificates' own bundle, which the static base's CA bundle is compared with
#   rpm               rpmbuild and rpm --justdb make a real rpmdb.sqlite for the rpm SBOM test
# Idempotent: does nothing when everything is present. Uses sudo when not root.
set -euo pipefail
pkgs=(qemu-user-static docker-registry skopeo umoci podman buildah apache2-utils openssl busybox-static pigz binutils file time
  bubblewrap tmux mmdebstrap debootstrap debian-archive-keyring uidmap runc ca-certificates rpm)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "test prerequisites present: ${pkgs[*]}"
  exit 0
fi
if ! command -v apt-get >/dev/null; then
  echo "error: missing ${missing[*]} and no apt-get here; install them with your package manager" >&2
  exit 1
fi
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
echo "installing: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
# Debian's docker-registry package starts a service on :5000; tests start their own on free ports.
if command -v systemctl >/dev/null && systemctl is-active --quiet docker-registry 2>/dev/null; then
  $sudo systemctl stop docker-registry || true
fi
echo "installed: ${missing[*]}"
