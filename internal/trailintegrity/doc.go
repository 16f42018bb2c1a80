// Package trailintegrity checks vaulted CloudTrail log files against vaulted
// CloudTrail digest files, the way `aws cloudtrail validate-logs` checks a
// trail bucket, but on the vault: `logvault verify --cloudtrail-digests`.
//
// For every digest file vaulted under a prefix it checks
//   - the digest: gzip JSON, vaulted from the location it names, signed
//     (x-amz-meta-signature kept by the shipper) with SHA256withRSA by a public
//     key from the operator's ListPublicKeys JSON, selected by fingerprint;
//   - the chain: previousDigestHashValue is the SHA-256 of the previous
//     digest's uncompressed content and previousDigestSignature its signature;
//     a previous digest absent from the vault is reported missing;
//   - every log file it lists: vaulted at cloudtrail/<s3Bucket>/<s3Object>,
//     and the SHA-256 of its uncompressed content equals hashValue.
//
// It reads the CURRENT version of every vault key: an overwrite in the vault
// (a new version, since nothing is ever deleted) that does not match the
// digest is reported as altered, and for a log an earlier version that does
// match is named so `logvault restore` can make it current again.
//
// # What CloudTrail documents (the format this package implements)
//
// Sources (links at the end):
//   - AWS CloudTrail User Guide, [Digest file structure];
//   - AWS CloudTrail User Guide, [Custom validation] ("Custom implementations
//     of CloudTrail log file integrity validation");
//   - CloudTrail API Reference, [PublicKey] (the ListPublicKeys element);
//   - the reference implementation, aws-cli's validate-logs, [validation.py].
//
// Digest key layout ([Digest file structure]):
//
//	[optional-prefix/]AWSLogs/<account>/CloudTrail-Digest/<region>/<yyyy>/<mm>/<dd>/
//	    <account>_CloudTrail-Digest_<region>_<trail-name>_<home-region>_<yyyymmddThhmmssZ>.json.gz
//
// (organization trails add <o-id>/ after AWSLogs/; backfill digests end in
// _backfill.json.gz). Logs live beside them under .../CloudTrail/....
//
// Digest content is gzip-compressed JSON with the fields awsAccountId,
// digestStartTime, digestEndTime, digestS3Bucket, digestS3Object,
// digestPublicKeyFingerprint, digestSignatureAlgorithm ("SHA256withRSA"),
// newestEventTime, oldestEventTime, previousDigestS3Bucket,
// previousDigestS3Object, previousDigestHashValue, previousDigestHashAlgorithm
// ("SHA-256"), previousDigestSignature and logFiles[] of {s3Bucket, s3Object,
// hashValue, hashAlgorithm, newestEventTime, oldestEventTime}.
//   - logFiles[].hashValue: "the hexadecimal encoded hash value of the
//     uncompressed log file content".
//   - previousDigestHashValue: "the hexadecimal encoded hash value of the
//     uncompressed contents of the previous digest file".
//   - A starting digest (validation enabled, restarted, or logging restarted)
//     has the five previous* fields null. An "empty" digest (no activity in
//     the hour) has "logFiles": [] and null newest/oldestEventTime.
//
// The signature is not in the file but in the object's user metadata:
// x-amz-meta-signature (hex-encoded RSA signature) and
// x-amz-meta-signature-algorithm ("SHA256withRSA"). S3 lower-cases the names;
// logvault copies source user metadata unchanged, so the vaulted digest keeps
// them.
//
// The signed data ([Custom validation], "Recreate the Data Signing String";
// aws-cli's _create_string_to_sign):
//
//	digestEndTime (UTC extended format, as written in the file) + "\n" +
//	digestS3Bucket + "/" + digestS3Object + "\n" +
//	hex(SHA-256(uncompressed digest file content)) + "\n" +
//	previousDigestSignature (hex; the string "null" for a starting digest)
//
// signed as SHA256withRSA, i.e. RSASSA-PKCS1-v1_5 over the SHA-256 of that
// string (aws-cli verifies with PKCS1_5_SHA256 over the gunzipped digest's
// hash). The file's own hash in the string is of the uncompressed content:
// aws-cli hashes the "inflated" digest.
//
// Public keys come from CloudTrail's ListPublicKeys (`aws cloudtrail
// list-public-keys --start-time … --end-time …`), whose JSON is
//
//	{"PublicKeyList": [{"Value": "<base64 DER>", "ValidityStartTime": …,
//	  "ValidityEndTime": …, "Fingerprint": "<32 hex>"}]}
//
// Value is "the DER encoded public key value in PKCS#1 format" ([PublicKey]);
// the documented samples are PKCS#1 RSAPublicKey and, once, an X.509
// SubjectPublicKeyInfo, so both are accepted. The fingerprint is not defined
// in the documentation; the three samples in [Custom validation] are each the
// hex MD5 of the base64-decoded Value (checked by hand:
// 8eba5db5bea9b640d1c96a77256fe7f2, 8933b39ddc64d26d8e14ffbf6566fee4,
// 31e8b5433410dfb61a9dc45cc65b22ff). Keys are selected by the fingerprint the
// file lists and, failing that, by the MD5 of their value. Validity times
// are not enforced: the operator chooses the time range of the keys file.
// CloudTrail keys are per region; the keys file must hold the keys of every
// region whose digests are checked.
//
// [Digest file structure]: https://docs.aws.amazon.com/awscloudtrail/latest/userguide/cloudtrail-log-file-validation-digest-file-structure.html
// [Custom validation]: https://docs.aws.amazon.com/awscloudtrail/latest/userguide/cloudtrail-log-file-custom-validation.html
// [PublicKey]: https://docs.aws.amazon.com/awscloudtrail/latest/APIReference/API_PublicKey.html
// [validation.py]: https://github.com/aws/aws-cli/blob/develop/awscli/customizations/cloudtrail/validation.py
package trailintegrity
