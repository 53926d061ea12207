"""What Facebook and Instagram share: they are two products of one Meta app and one Graph API.

`graph` holds the version, `appsecret_proof`, the usage headers, the one error
table and the client base; `webhooks` holds the signature check, the
`hub.challenge` handshake and the routing of a delivery's entries to accounts.
README.md says what each Graph error code means for a channel's health.
"""
