// Every refusal of the API has one shape, the one Keystone and Heat answer
// with: {"error": {"code": <status>, "title": "<status title>", "message",
// "type": "<machine-readable kind>", "detail"?}}. keystone-client-ts (and
// keystoneauth-based Python clients) read `message` out of it.

import { type ErrorRenderer, statusTitle } from '@berth/service-kit';

export const renderError: ErrorRenderer = (err) => ({
  body: {
    error: {
      code: err.status,
      title: statusTitle(err.status),
      message: err.message,
      type: err.code,
      ...(err.detail !== undefined ? { detail: err.detail } : {}),
    },
  },
});
