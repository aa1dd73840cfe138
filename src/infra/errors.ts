// Errors with an HTTP status and a stable machine-readable code. `message` is what a person reads (Chinese).

export class AppError extends Error {
  constructor(
    readonly statusCode: number,
    readonly code: string,
    message: string,
    readonly details?: unknown,
  ) {
    super(message);
    this.name = new.target.name;
  }
}

export class BadRequestError extends AppError {
  constructor(message: string, code = 'bad_request', details?: unknown) {
    super(400, code, message, details);
  }
}

export class UnauthorizedError extends AppError {
  constructor(message = '未登录或令牌无效', code = 'unauthorized') {
    super(401, code, message);
  }
}

export class ForbiddenError extends AppError {
  constructor(message = '无权执行此操作', code = 'forbidden') {
    super(403, code, message);
  }
}

export class NotFoundError extends AppError {
  constructor(message = '资源不存在', code = 'not_found') {
    super(404, code, message);
  }
}

export class ConflictError extends AppError {
  constructor(message: string, code = 'conflict', details?: unknown) {
    super(409, code, message, details);
  }
}

export class ServiceUnavailableError extends AppError {
  constructor(message: string, code = 'service_unavailable') {
    super(503, code, message);
  }
}

/** Telephony (ARI/AMI) is down: call-control routes answer this. */
export class TelephonyDownError extends ServiceUnavailableError {
  constructor(which: 'ari' | 'ami') {
    super(`电话系统(${which.toUpperCase()})暂时不可用，请稍后再试`, `${which}_unavailable`);
  }
}
