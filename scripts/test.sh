#!/usr/bin/env bash
# Runs every test of the project on a fresh Debian machine with Java 17 and Maven:
# installs the system packages the tests need (as root, with apt-get), then `mvn -B verify`.
# Extra arguments go to Maven, e.g. `./scripts/test.sh -pl convert-worker`.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

# command -> Debian package that provides it
declare -A packages=(
  [docker-registry]=docker-registry   # the real OCI registry of the integration tests
  [skopeo]=skopeo                     # seeds that registry from OCI layouts
  [veritysetup]=cryptsetup-bin        # checks our dm-verity trees
  [getfattr]=attr                     # reads xattrs of mounted EROFS images
  [openssl]=openssl                   # checks root-hash signatures
  [pigz]=pigz                         # benchmark reference
  [zstd]=zstd                         # zstd layers for tests
  [mkfs.erofs]=erofs-utils            # dump.erofs/fsck.erofs for 4 KiB images
  [python3]=python3                   # runs shared/tools/gen_tars.py for the random-tar tests
)
missing=()
for cmd in "${!packages[@]}"; do
  command -v "$cmd" >/dev/null 2>&1 || [ -x "/usr/sbin/$cmd" ] || missing+=("${packages[$cmd]}")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "test.sh: installing ${missing[*]}" >&2
  if [ "$(id -u)" -ne 0 ]; then sudo=sudo; else sudo=; fi
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

cd "$root"
# Tar names are bytes; the kernel check reads mounted names through Java, which decodes them with
# the locale's charset. CI may run with no locale at all (POSIX, ASCII).
export LANG=C.UTF-8 LC_ALL=C.UTF-8
exec mvn -B verify "$@"
