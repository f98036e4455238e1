"""User-agent strings as real SDKs and tools send them (they make up much of a record)."""

JAVA_SDK = (
    "aws-sdk-java/2.25.60 Linux/5.10.219-208.866.amzn2.x86_64 "
    "OpenJDK_64-Bit_Server_VM/17.0.11+9-LTS Java/17.0.11 vendor/Amazon.com_Inc. md/internal "
    "exec-env/AWS_ECS_FARGATE io/sync http/Apache cfg/retry-mode/standard"
)
CLI_LINUX = (
    "aws-cli/2.17.20 md/awscrt#0.20.11 ua/2.0 os/linux#6.5.0 md/arch#x86_64 lang/python#3.11.9 "
    "md/pyimpl#CPython cfg/retry-mode#standard md/installer#exe md/distrib#ubuntu.22 md/prompt#off "
    "md/command#kms"
)
CLI_MAC = (
    "aws-cli/2.17.20 md/awscrt#0.20.11 ua/2.0 os/macos#23.5.0 md/arch#arm64 lang/python#3.11.9 "
    "md/pyimpl#CPython cfg/retry-mode#standard md/installer#exe md/prompt#off md/command#kms"
)
CLI_MAC_S3API = (
    "aws-cli/2.17.20 md/awscrt#0.20.11 ua/2.0 os/macos#23.5.0 md/arch#arm64 lang/python#3.11.9 "
    "md/pyimpl#CPython cfg/retry-mode#standard md/installer#exe md/prompt#off "
    "md/command#s3api.get-bucket-acl"
)
BOTO3 = (
    "Boto3/1.34.131 md/Botocore#1.34.131 ua/2.0 os/linux#5.10.219-208.866.amzn2.x86_64 "
    "md/arch#x86_64 lang/python#3.11.9 md/pyimpl#CPython cfg/retry-mode#legacy Botocore/1.34.131"
)
BOTO3_LAMBDA = (
    "Boto3/1.34.131 md/Botocore#1.34.131 ua/2.0 os/linux#5.10.219-208.866.amzn2.x86_64 "
    "md/arch#x86_64 lang/python#3.11.9 md/pyimpl#CPython exec-env/AWS_Lambda_python3.11 "
    "cfg/retry-mode#legacy Botocore/1.34.131"
)
BOTO3_FOREIGN = (
    "Boto3/1.34.144 md/Botocore#1.34.144 ua/2.0 os/linux#6.8.0 md/arch#x86_64 lang/python#3.12.3 "
    "md/pyimpl#CPython cfg/retry-mode#legacy Botocore/1.34.144"
)
GO_SDK = (
    "aws-sdk-go-v2/1.30.3 os/linux lang/go#1.22.5 md/GOOS#linux md/GOARCH#amd64 api/ec2#1.171.0"
)
TERRAFORM = (
    "APN/1.0 HashiCorp/1.0 Terraform/1.9.2 (+https://www.terraform.io) "
    "terraform-provider-aws/5.59.0 (+https://registry.terraform.io/providers/hashicorp/aws) "
    "aws-sdk-go-v2/1.30.3 os/linux lang/go#1.22.5"
)
TERRAFORM_KMS = TERRAFORM + " md/GOOS#linux md/GOARCH#amd64 api/kms#1.35.3"
KALI_CLI = (
    "aws-cli/2.13.25 Python/3.11.5 Linux/6.3.0-kali1-amd64 exe/x86_64.kali.2023 prompt/off "
    "command/kms.decrypt"
)
KALI_CLI_2 = "aws-cli/2.15.0 Python/3.11.6 Linux/6.5.0-kali3-amd64 exe/x86_64.kali.2023 prompt/off"
GITHUB_ACTIONS = (
    "aws-sdk-js/3.600.0 ua/2.1 os/linux#6.5.0-1025-azure lang/js md/nodejs#20.13.1 "
    "api/sts#3.600.0 m/E configure-aws-credentials-for-github-actions"
)


def cli_linux(command: str) -> str:
    """The Linux CLI's agent naming the command it ran (``md/command#cloudtrail.stop-logging``)."""
    return CLI_LINUX.removesuffix("md/command#kms") + f"md/command#{command}"
