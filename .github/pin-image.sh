#!/usr/bin/env bash
# Pin STACK's `berth:image` to the commit's image by digest (up.yml, before `pulumi up`).
#
# SOURCE is the image as built, ghcr.io/…@sha256:…. When the target has a registry of its own
# (REPOSITORY: the AWS_/GCP_/K8S_IMAGE_REPOSITORY variable), the image is copied there first with
# its digest unchanged, so every stack runs the same bytes from a registry its cloud can pull from.
set -euo pipefail
: "${STACK:?}" "${TARGET:?}" "${SOURCE:?}"

digest="${SOURCE#*@}"
ref="$SOURCE"
if [ -n "${REPOSITORY:-}" ]; then
  registry="${REPOSITORY%%/*}"
  case "$TARGET" in
    aws) aws ecr get-login-password | skopeo login --username AWS --password-stdin "$registry" ;;
    gcp) printf '%s' "${GCP_ACCESS_TOKEN:?}" | skopeo login --username oauth2accesstoken --password-stdin "$registry" ;;
    *) ;;  # a registry this runner can already push to
  esac
  if ! skopeo inspect --raw "docker://$REPOSITORY@$digest" >/dev/null 2>&1; then
    printf '%s' "${GITHUB_TOKEN:?}" | skopeo login --username "${GITHUB_ACTOR:?}" --password-stdin ghcr.io
    skopeo copy --preserve-digests "docker://$SOURCE" "docker://$REPOSITORY:sha-${GITHUB_SHA:?}"
  fi
  ref="$REPOSITORY@$digest"
fi

pulumi stack select --create "$STACK"
# `build: app` (the tier default) and `ref` are exclusive: drop the key, then set the pin alone.
if pulumi config get berth:image --stack "$STACK" >/dev/null 2>&1; then
  pulumi config rm berth:image --stack "$STACK"
fi
pulumi config set --path berth:image.ref "$ref" --stack "$STACK"
echo "berth:image of $STACK pinned to $ref"
