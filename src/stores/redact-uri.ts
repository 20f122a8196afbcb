/**
 * A connection URI fit for logs, errors and `Store.location`: the password of the user info is
 * replaced by `***` (`mongodb://app:s3cret@db:27017/opq` → `mongodb://app:***@db:27017/opq`), and so
 * are the values of query parameters whose name looks like a secret. Works on multi-host MongoDB
 * URIs, which `new URL` refuses.
 *
 * @param uri Any URI or plain path; text without user info is returned as it is.
 */
export function redactUri(uri: string): string {
  return uri
    .replace(/^([a-z][a-z0-9+.-]*:\/\/[^:@/?#]*):[^@/?#]*@/i, '$1:***@')
    .replace(/([?&][^=&#]*(?:password|secret|token)[^=&#]*=)[^&#]*/gi, '$1***');
}
