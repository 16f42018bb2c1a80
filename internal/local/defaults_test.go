package local

import (
	"testing"

	"github.com/logvault/logvault/internal/policy"
)

func TestPublicPolicy(t *testing.T) {
	for _, c := range []struct {
		name, statement string
		public          bool
	}{
		{"Allow to *", `{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::b/*"}`, true},
		{"Allow to AWS *", `{"Effect":"Allow","Principal":{"AWS":"*"},"Action":"s3:GetObject","Resource":"arn:aws:s3:::b/*"}`, true},
		{"Allow to any account's role", `{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::*:role/x"},"Action":"s3:GetObject","Resource":"arn:aws:s3:::b/*"}`, true},
		{"Allow to * from one account", `{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::b/*","Condition":{"StringEquals":{"aws:PrincipalAccount":"222222222222"}}}`, false},
		{"Allow to * from a wildcard ARN", `{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::b/*","Condition":{"ArnLike":{"aws:PrincipalArn":"arn:aws:iam::*:role/*"}}}`, true},
		{"Allow to * except one account", `{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::b/*","Condition":{"StringNotEquals":{"aws:PrincipalAccount":"222222222222"}}}`, true},
		{"Allow to * from anywhere", `{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::b/*","Condition":{"IpAddress":{"aws:SourceIp":"0.0.0.0/0"}}}`, true},
		{"Allow to * from two halves of the Internet", `{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::b/*","Condition":{"IpAddress":{"aws:SourceIp":["0.0.0.0/1","128.0.0.0/1"]}}}`, true},
		{"Allow to * from one network", `{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::b/*","Condition":{"IpAddress":{"aws:SourceIp":"203.0.113.0/24"}}}`, false},
		{"Allow to * when no account is named", `{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::b/*","Condition":{"ForAllValues:StringEquals":{"aws:PrincipalAccount":"222222222222"}}}`, true},
		{"Allow to any federated user", `{"Effect":"Allow","Principal":{"Federated":"*"},"Action":"s3:GetObject","Resource":"arn:aws:s3:::b/*"}`, true},
		{"Allow to * on a region", `{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::b/*","Condition":{"StringEquals":{"aws:RequestedRegion":"us-east-1"}}}`, true},
		{"Allow to one account", `{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::222222222222:root"},"Action":"s3:GetObject","Resource":"arn:aws:s3:::b/*"}`, false},
		{"Deny to *", `{"Effect":"Deny","Principal":"*","Action":"s3:*","Resource":"arn:aws:s3:::b/*"}`, false},
		{"Allow to a service with its source", `{"Effect":"Allow","Principal":{"Service":"cloudtrail.amazonaws.com"},"Action":"s3:PutObject","Resource":"arn:aws:s3:::b/*","Condition":{"StringEquals":{"aws:SourceAccount":"111111111111"}}}`, false},
	} {
		d, err := policy.Parse([]byte(`{"Version":"2012-10-17","Statement":[` + c.statement + `]}`))
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if got := publicPolicy(d); got != c.public {
			t.Errorf("%s: public %v, want %v", c.name, got, c.public)
		}
	}
}
