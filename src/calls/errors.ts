// Errors of call control that reach a person (the agent console, a supervisor): stable codes, Chinese messages.
import { ConflictError, NotFoundError } from '../infra/errors';

export class CallNotLiveError extends NotFoundError {
  constructor() {
    super('该通话不在进行中', 'call_not_live');
  }
}

export class CallNotConnectedError extends ConflictError {
  constructor() {
    super('只有通话中的来电可以转接', 'call_not_connected');
  }
}

export class TransferInProgressError extends ConflictError {
  constructor() {
    super('该通话已有转接在进行', 'transfer_in_progress');
  }
}

export class TransferNotAnsweredError extends ConflictError {
  constructor() {
    super('对方尚未接通，不能退出三方通话', 'transfer_not_answered');
  }
}

export class NoTransferError extends NotFoundError {
  constructor() {
    super('没有进行中的转接', 'no_transfer');
  }
}

export class DepartmentNotFoundError extends NotFoundError {
  constructor() {
    super('部门不存在或已停用', 'department_not_found');
  }
}

export class DepartmentNoPhoneError extends NotFoundError {
  constructor(name: string) {
    super(`部门“${name}”没有登记转接电话`, 'department_no_phone');
  }
}
