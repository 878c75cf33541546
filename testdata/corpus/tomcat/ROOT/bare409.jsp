<%@ page session="false" %><%
response.sendError(409);
%>
