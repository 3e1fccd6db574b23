"""The stack's ECR repository and the image the services run: built from app/ and pushed, tagged
with the source hash and run by digest; or a prebuilt image pinned by digest, run as given."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws
import pulumi_docker as docker

from infra.source import build_context
from infra.spec import Image

ECR_REF = re.compile(r"^(?P<account>\d{12})\.dkr\.ecr\.(?P<region>[a-z0-9-]+)\.amazonaws\.com/(?P<repo>[^:@]+)")

LIFECYCLE = {
    "rules": [
        {"rulePriority": 1, "description": "untagged layers of old builds",
         "selection": {"tagStatus": "untagged", "countType": "sinceImagePushed", "countUnit": "days", "countNumber": 7},
         "action": {"type": "expire"}},
        {"rulePriority": 2, "description": "keep the last 50 images (rollback reaches back that far)",
         "selection": {"tagStatus": "any", "countType": "imageCountMoreThan", "countNumber": 50},
         "action": {"type": "expire"}},
    ]
}


@dataclass
class RegistryArgs:
    prefix: str
    image: Image
    force_delete: bool


class Registry(pulumi.ComponentResource):
    ref: pulumi.Output[str]  # what the task definitions run, always by digest
    repository: aws.ecr.Repository
    pull_arns: list[pulumi.Output[str]]  # the ECR repositories tasks may pull from

    def __init__(self, name: str, args: RegistryArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("berth:aws:Registry", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        self.repository = aws.ecr.Repository(
            "app", name=args.prefix, image_tag_mutability="IMMUTABLE",  # a tag is a source hash
            image_scanning_configuration={"scan_on_push": True},
            encryption_configurations=[{"encryption_type": "AES256"}], force_delete=args.force_delete, opts=child)
        aws.ecr.LifecyclePolicy("app", repository=self.repository.name, policy=json.dumps(LIFECYCLE), opts=child)
        self.pull_arns = [self.repository.arn]
        if args.image.build is not None:
            source = build_context(args.image.build)
            tag = source["tag"]
            token = aws.ecr.get_authorization_token_output(registry_id=self.repository.registry_id)
            built = docker.Image(
                "app",
                image_name=pulumi.Output.concat(self.repository.repository_url, ":", tag),
                build=docker.DockerBuildArgs(context=source["context"], dockerfile=source["dockerfile"],
                                             platform="linux/amd64", args={"APP_VERSION": tag, "GIT_SHA": tag}),
                registry=docker.RegistryArgs(server=self.repository.repository_url, username=token.user_name,
                                             password=pulumi.Output.secret(token.password)),
                opts=child)
            self.ref = built.repo_digest
        else:
            self.ref = pulumi.Output.from_input(args.image.ref)
            found = ECR_REF.match(args.image.ref)
            if found and found["repo"] != args.prefix:  # pinned from another ECR repository: pull from it too
                self.pull_arns.append(pulumi.Output.from_input(
                    f"arn:aws:ecr:{found['region']}:{found['account']}:repository/{found['repo']}"))
        self.register_outputs({"ref": self.ref, "repository": self.repository.repository_url})
