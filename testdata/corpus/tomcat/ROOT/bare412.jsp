<%@ page session="false" %><%
response.sendError(412);
%>
