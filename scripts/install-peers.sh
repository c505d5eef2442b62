#!/usr/bin/env bash
# Installs the Debian packages the tests (or, given tool names, just those tools) need, when missing.
set -euo pipefail

tools=("$@")
[ ${#tools[@]} -gt 0 ] || tools=(docker-registry skopeo umoci buildah htpasswd jq openssl /usr/bin/time chattr)

package_of() {
  case "$1" in
    htpasswd) echo apache2-utils ;;
    /usr/bin/time) echo time ;;
    chattr) echo e2fsprogs ;;
    *) echo "$1" ;;
  esac
}

missing=()
for tool in "${tools[@]}"; do
  command -v "$tool" >/dev/null 2>&1 || missing+=("$(package_of "$tool")")
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "Installing Debian packages: ${missing[*]}"
if [ "$(id -u)" -eq 0 ]; then
  apt_get=(apt-get)
elif command -v sudo >/dev/null 2>&1; then
  apt_get=(sudo apt-get)
else
  echo "error: ${missing[*]} missing and neither root nor sudo is available to install them" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
"${apt_get[@]}" update -qq
"${apt_get[@]}" install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
