"""The stack's Artifact Registry repository and the image the services run: built from app/ and
pushed, tagged with the source hash and run by digest; or a prebuilt image pinned by digest, run as
given. A cleanup policy keeps the most recent releases (rollback reaches back that far)."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_docker as docker
import pulumi_gcp as gcp

from infra.config import ROOT
from infra.source import source_hash
from infra.spec import Image


@dataclass
class RegistryArgs:
    prefix: str
    region: str
    project: str
    image: Image
    keep_releases: int
    untagged_days: int
    max_age_days: int
    protect: bool


class Registry(pulumi.ComponentResource):
    ref: pulumi.Output[str]  # what Cloud Run runs, always by digest
    release: str  # a short, stable name for this release: the source hash, or the digest's head
    repository: gcp.artifactregistry.Repository
    url: pulumi.Output[str]

    def __init__(self, name: str, args: RegistryArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("berth:gcp:Registry", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        day = 24 * 3600
        self.repository = gcp.artifactregistry.Repository(
            "app", repository_id=args.prefix, location=args.region, format="DOCKER",
            description=f"Images of berth {args.prefix}",
            docker_config={"immutable_tags": True},  # a tag is a source hash
            cleanup_policies=[
                {"id": "keep-recent-releases", "action": "KEEP",
                 "most_recent_versions": {"keep_count": args.keep_releases}},
                {"id": "delete-untagged", "action": "DELETE",
                 "condition": {"tag_state": "UNTAGGED", "older_than": f"{args.untagged_days * day}s"}},
                # KEEP wins over DELETE: old releases go, the most recent ones stay whatever their age.
                {"id": "delete-old-releases", "action": "DELETE",
                 "condition": {"tag_state": "ANY", "older_than": f"{args.max_age_days * day}s"}},
            ],
            cleanup_policy_dry_run=False, labels={"berth-stack": args.prefix},
            opts=pulumi.ResourceOptions(parent=self, protect=args.protect))
        self.url = pulumi.Output.format("{0}-docker.pkg.dev/{1}/{2}", args.region, args.project,
                                        self.repository.repository_id)
        if args.image.build is not None:
            context = ROOT / args.image.build
            self.release = source_hash(context)
            token = gcp.organizations.get_client_config_output().access_token
            built = docker.Image(
                "app",
                image_name=pulumi.Output.concat(self.url, "/app:", self.release),
                build=docker.DockerBuildArgs(context=str(context), dockerfile=str(context / "Dockerfile"),
                                             platform="linux/amd64",
                                             args={"APP_VERSION": self.release, "GIT_SHA": self.release}),
                registry=docker.RegistryArgs(server=f"{args.region}-docker.pkg.dev", username="oauth2accesstoken",
                                             password=pulumi.Output.secret(token)),
                opts=child)
            self.ref = built.repo_digest
        else:
            self.release = args.image.ref.rsplit("@sha256:", 1)[1][:12]
            self.ref = pulumi.Output.from_input(args.image.ref)
        self.register_outputs({"ref": self.ref, "repository": self.url})
